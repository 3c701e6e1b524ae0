namespace NxTop.Qemu.Tests;

public sealed class MachineLockTests : IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task A_second_holder_waits_until_the_first_lets_go()
    {
        using var first = await MachineLock.AcquireAsync("t", TimeSpan.FromSeconds(1), directory: _dir.Path);
        var messages = new List<string>();

        var second = MachineLock.AcquireAsync("t", TimeSpan.FromSeconds(30), messages.Add, _dir.Path);
        await Task.Delay(1500);
        Assert.False(second.IsCompleted);
        first.Dispose();
        using var got = await second.WaitAsync(TimeSpan.FromSeconds(10));

        Assert.Equal(first.Path, got.Path);
        Assert.Contains(messages, m => m.Contains("another test run", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_lock_held_past_the_timeout_fails_naming_the_file()
    {
        using var first = await MachineLock.AcquireAsync("u", TimeSpan.FromSeconds(1), directory: _dir.Path);

        var ex = await Assert.ThrowsAsync<TimeoutException>(() => MachineLock.AcquireAsync("u", TimeSpan.FromSeconds(1.5), directory: _dir.Path));

        Assert.Contains(first.Path, ex.Message, StringComparison.Ordinal);
    }
}
