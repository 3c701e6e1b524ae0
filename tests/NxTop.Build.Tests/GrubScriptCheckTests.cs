using NxTop.Build.Tools;

namespace NxTop.Build.Tests;

/// <summary>The rendered GRUB menus pass GRUB's own parser, and the check is able to fail.</summary>
public class GrubScriptCheckTests
{
    private const string GrubScriptCheck = "/usr/bin/grub-script-check";

    /// <summary>Every profile × every template that renders a GRUB config (the ISO menu and the netboot menu).</summary>
    public static TheoryData<string, string> GrubConfigs()
    {
        var data = new TheoryData<string, string>();
        foreach (var profile in Rendering.Profiles)
        {
            foreach (var f in NxTop.Build.Boot.BootConfigRenderer.Files.Where(f => f.Path.EndsWith("grub.cfg", StringComparison.Ordinal)))
            {
                data.Add(profile, f.Template);
            }
        }

        return data;
    }

    [Fact]
    public void All_three_grub_menus_are_checked()
    {
        // The ISO's, the netboot one and the disk's (on the EFI system partition).
        Assert.Equal(3 * Rendering.Profiles.Length, GrubConfigs().Count);
    }

    [Theory]
    [MemberData(nameof(GrubConfigs))]
    public async Task The_rendered_grub_config_passes_grub_script_check(string profile, string template)
    {
        var config = Rendering.For(profile)[template].Content;

        var result = await CheckAsync(config);

        Assert.True(result.ExitCode == 0, $"grub-script-check rejected the {profile} {template} (exit {result.ExitCode}):\n{result.StandardError}{result.StandardOutput}\n--- config ---\n{config}");
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
