using NxTop.Build.Boot;
using NxTop.Build.Tools;

namespace NxTop.Build.Tests;

/// <summary>Every rendered shell script parses with the shell that runs it in dom0 (/bin/sh is dash), and the check can fail.</summary>
public class ShellScriptTests
{
    public static TheoryData<string, string> Scripts()
    {
        var data = new TheoryData<string, string>();
        foreach (var profile in Rendering.Profiles)
        {
            foreach (var f in Rendering.For(profile).Files.Where(f => f.Content.StartsWith("#!/bin/sh", StringComparison.Ordinal)))
            {
                data.Add(profile, f.File.Template);
            }
        }

        return data;
    }

    [Fact]
    public void The_installer_and_the_data_mount_are_among_the_scripts_checked()
    {
        var templates = Scripts().Select(row => (string)row[1]).ToHashSet();

        Assert.Contains("install/nxtop-install.sbn", templates);
        Assert.Contains("system/nxtop-data.sbn", templates);
    }

    [Theory]
    [MemberData(nameof(Scripts))]
    public async Task The_rendered_script_parses_with_dash(string profile, string template)
    {
        var script = Rendering.For(profile)[template].Content;

        var result = await ParseAsync(script);

        Assert.True(result.ExitCode == 0, $"dash -n rejected the {profile} {template}:\n{result.StandardError}");
    }

    [Fact]
    public async Task A_script_with_an_unclosed_if_fails_the_parse()
    {
        var result = await ParseAsync(Rendering.For("none")["install/nxtop-install.sbn"].Content + "\nif true; then\n  echo x\n");

        Assert.NotEqual(0, result.ExitCode);
    }

    private static Task<ToolResult> ParseAsync(string script) =>
        new ProcessRunner().RunAsync("dash", ["-n"], new ToolRun { StandardInput = script, CheckExitCode = false });
}
