namespace NxTop.Agent.Tests;

/// <summary>Test data and a temporary directory that cleans up after itself.</summary>
internal static class TestFiles
{
    public static string XlInfoSamplePath => Path.Combine(AppContext.BaseDirectory, "TestData", "xl-info-4.17.txt");

    public static string XlInfoSample => File.ReadAllText(XlInfoSamplePath);
}

internal sealed class TempDirectory : IDisposable
{
    // Short and under /tmp: a Unix socket path must fit in 107 bytes.
    public string Path { get; } = Directory.CreateTempSubdirectory("nxt-").FullName;

    public string Combine(params string[] parts) => System.IO.Path.Combine([Path, .. parts]);

    /// <summary>Writes an executable shell script, e.g. a fake <c>xl</c>.</summary>
    public string WriteScript(string name, string body)
    {
        var path = Combine(name);
        File.WriteAllText(path, "#!/bin/sh\n" + body + "\n");
        File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        return path;
    }

    /// <summary>A fake <c>xl</c> that prints the sample for <c>xl info</c> and fails for anything else.</summary>
    public string WriteFakeXl(string name = "xl") => WriteScript(name, $$"""
        [ "$1" = info ] || { echo "xl: unexpected arguments: $*" >&2; exit 2; }
        cat '{{TestFiles.XlInfoSamplePath}}'
        """);

    public void Dispose()
    {
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}

/// <summary>
/// Tests that write a shell script and run it. They run one at a time: a script exec'd while
/// another thread's fork still holds its write descriptor fails with ETXTBSY ("Text file busy").
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class ScriptTests
{
    public const string Name = "scripts";
}
