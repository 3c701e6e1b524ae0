using NxTop.Build.Spec;

namespace NxTop.Build.Tests;

internal static class SpecAssert
{
    /// <summary>
    /// Asserts that <paramref name="ex"/> reports exactly one problem at <paramref name="path"/>, blamed on
    /// <paramref name="file"/>, whose message has every fragment; and that the exception's own message (what the CLI
    /// prints) names the file and the path too.
    /// </summary>
    public static SpecProblem Problem(SpecException ex, string file, string path, params string[] fragments)
    {
        var hits = ex.Problems.Where(p => p.Path == path).ToList();
        var problem = Assert.Single(hits);
        Assert.Equal(Path.GetFullPath(file), Path.GetFullPath(problem.File));
        foreach (var f in fragments)
        {
            Assert.Contains(f, problem.Message, StringComparison.Ordinal);
        }

        Assert.Contains($"{problem.File}: {path}: ", ex.Message, StringComparison.Ordinal);
        return problem;
    }
}
