using NxTop.Agent.Lifecycle;

namespace NxTop.Agent.Tests;

public sealed class StepHoldTests
{
    private readonly List<string> _logged = [];

    [Fact]
    public void Unset_means_no_hook()
    {
        Assert.Null(StepHold.Create(null, new ListLogger<StepHoldTests>(_logged), () => throw new InvalidOperationException("held")));
        Assert.Null(StepHold.Create("  ", new ListLogger<StepHoldTests>(_logged), () => throw new InvalidOperationException("held")));
        Assert.Empty(_logged);
    }

    [Fact]
    public void It_holds_after_the_named_step_only_and_says_so()
    {
        var held = new List<string>();
        string? current = null;
        var hook = StepHold.Create("committing", new ListLogger<StepHoldTests>(_logged), () => held.Add(current!))!;

        foreach (var step in StepHold.Steps)
        {
            current = step;
            hook(step);
        }

        Assert.Equal(["committing"], held);
        Assert.Contains(_logged, l => l.Contains("armed", StringComparison.Ordinal) && l.Contains("'committing'", StringComparison.Ordinal));
        Assert.Contains(_logged, l => l.StartsWith("Holding after step 'committing'", StringComparison.Ordinal));
    }

    [Fact]
    public void An_unknown_step_is_refused_with_the_list_of_steps()
    {
        var e = Assert.Throws<ArgumentException>(() => StepHold.Create("comitting", new ListLogger<StepHoldTests>(_logged), () => { }));
        Assert.Contains("NXTOP_AGENT_HOLD_AT='comitting'", e.Message, StringComparison.Ordinal);
        Assert.Contains("rollback-state", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Its_steps_are_the_ones_the_power_cut_tests_cut_at()
    {
        var cut = LifecycleEngineTests.PowerCuts.Select(row => (string)row[0]).ToList();
        Assert.Equal(cut, StepHold.Steps);
    }
}
