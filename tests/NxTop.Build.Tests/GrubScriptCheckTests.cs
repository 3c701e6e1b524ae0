using NxTop.Build.Tools;

namespace NxTop.Build.Tests;

/// <summary>The rendered GRUB menus pass GRUB's own parser, and the check is able to fail.</summary>
public class GrubScriptCheckTests
{
    private const string GrubScriptCheck = "/usr/bin/grub-script-check";

    [Theory]
    [InlineData("none")]
    [InlineData("release")]
    [InlineData("lab")]
    [InlineData("debug")]
    public async Task The_rendered_grub_config_passes_grub_script_check(string profile)
    {
        var config = Rendering.For(profile)["grub/iso.cfg.sbn"].Content;

        var result = await CheckAsync(config);

        Assert.True(result.ExitCode == 0, $"grub-script-check rejected the {profile} GRUB config (exit {result.ExitCode}):\n{result.StandardError}{result.StandardOutput}\n--- config ---\n{config}");
    }

    [Fact]
    public async Task A_grub_config_with_an_unclosed_menuentry_fails_grub_script_check()
    {
        var config = Rendering.For("none")["grub/iso.cfg.sbn"].Content;
        var broken = config[..config.LastIndexOf('}')];

        var result = await CheckAsync(broken);

        Assert.NotEqual(0, result.ExitCode);
        Assert.Contains("syntax error", result.StandardError + result.StandardOutput, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task A_grub_config_with_an_unterminated_quote_fails_grub_script_check()
    {
        var result = await CheckAsync("menuentry 'NxTop --id live {\n  multiboot2 /boot/xen.gz\n}\n");

        Assert.NotEqual(0, result.ExitCode);
    }

    private static async Task<ToolResult> CheckAsync(string config)
    {
        if (!File.Exists(GrubScriptCheck))
        {
            Assert.Fail($"{GrubScriptCheck} is missing (package grub-common). Run ./build.sh --target=CheckHost to install the host tools.");
        }

        using var dir = new TempDir();
        var file = dir.Write("grub.cfg", config);
        return await new ProcessRunner().RunAsync(GrubScriptCheck, [file], new ToolRun { CheckExitCode = false, Timeout = TimeSpan.FromSeconds(30) });
    }
}
