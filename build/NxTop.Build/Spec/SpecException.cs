namespace NxTop.Build.Spec;

/// <summary>One thing wrong with the spec: the file it came from, the JSON path, and what was expected.</summary>
public sealed record SpecProblem(string File, string Path, string Message)
{
    public override string ToString() => $"{File}: {Path}: {Message}";
}

/// <summary>The spec (or a profile) is invalid. Nothing has been built.</summary>
public sealed class SpecException : NxTopBuildException
{
    public SpecException(IReadOnlyList<SpecProblem> problems)
        : base(Format(problems)) => Problems = problems;

    public SpecException(string file, string path, string message)
        : this([new SpecProblem(file, path, message)])
    {
    }

    public IReadOnlyList<SpecProblem> Problems { get; }

    private static string Format(IReadOnlyList<SpecProblem> problems) =>
        $"The appliance spec is invalid ({problems.Count} problem{(problems.Count == 1 ? "" : "s")}); nothing was built:\n"
        + string.Join('\n', problems.Select(p => "  " + p))
        + "\nFix the file(s) named above; see appliance/README.md for every field.";
}
