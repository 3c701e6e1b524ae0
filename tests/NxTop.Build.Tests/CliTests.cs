using NxTop.Build.Boot;
using NxTop.Build.Cli;
using NxTop.Build.Spec;
using NxTop.Build.Tools;

namespace NxTop.Build.Tests;

public class CliTests
{
    [Fact]
    public async Task Validate_with_an_invalid_profile_throws_a_build_exception_naming_the_profile_and_path()
    {
        using var spec = new TempSpec();
        var profile = spec.WriteProfile("greedy", """{ "xen": { "dom0Mem": "lots" } }""");

        var ex = await Assert.ThrowsAsync<SpecException>(() => RunAsync(["validate", "--spec", spec.SpecPath, "--profile", "greedy"]));

        Assert.IsAssignableFrom<NxTopBuildException>(ex);
        Assert.Contains($"{profile}: $.xen.dom0Mem: got \"lots\"", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_cli_exits_non_zero_and_prints_the_problem_without_a_stack_trace()
    {
        using var spec = new TempSpec();
        spec.WriteProfile("greedy", """{ "xen": { "dom0Mem": "lots" } }""");

        var result = await RunProcessAsync(spec.Dir, "validate", "--repo", Repo.Root, "--spec", "appliance.json", "--profile", "greedy");

        Assert.Equal(1, result.ExitCode);
        Assert.Contains("error: The appliance spec is invalid (1 problem)", result.StandardError, StringComparison.Ordinal);
        Assert.Contains("profiles/greedy.json: $.xen.dom0Mem: got \"lots\"; expected a memory size", result.StandardError, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", result.StandardError, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_cli_validates_the_real_spec_and_exits_zero()
    {
        var result = await RunProcessAsync(Repo.Root, "validate", "--profile", "lab");

        Assert.Equal(0, result.ExitCode);
        Assert.Contains($"valid (profile lab, sha256 {SpecLoader.Load(Repo.Spec, "lab").Sha256})", result.StandardOutput, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Validate_print_writes_the_canonical_json()
    {
        var (code, stdout, _) = await RunAsync(["validate", "--spec", Repo.Spec, "--profile", "debug", "--print"]);

        Assert.Equal(0, code);
        Assert.Contains(SpecLoader.Load(Repo.Spec, "debug").CanonicalJson, stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Render_writes_every_config_into_the_out_folder()
    {
        using var outDir = new TempDir();
        using var keys = new TempDir();
        var key = keys.Write("golden.pub", Rendering.GoldenKey + "\n");

        var (code, stdout, _) = await RunAsync(["render", "--repo", Repo.Root, "--profile", "lab", "--authorized-key", key, "--out", outDir.Path]);

        Assert.Equal(0, code);
        Assert.Contains($"Rendered {BootConfigRenderer.Files.Count} configs to {outDir.Path}.", stdout, StringComparison.Ordinal);
        var expected = Rendering.For("lab");
        foreach (var f in BootConfigRenderer.Files)
        {
            var path = Path.Combine(outDir.Path, f.Template[..^".sbn".Length]);
            Assert.True(File.Exists(path), $"{path} was not written");
            Assert.Equal(expected[f.Template].Content, File.ReadAllText(path));
        }

        Assert.Equal(BootConfigRenderer.Files.Count, Directory.GetFiles(outDir.Path, "*", SearchOption.AllDirectories).Length);
    }

    [Fact]
    public async Task Render_without_out_fails_clearly()
    {
        var ex = await Assert.ThrowsAsync<NxTopBuildException>(() => RunAsync(["render", "--repo", Repo.Root]));

        Assert.Equal("--out is required.", ex.Message);
    }

    [Fact]
    public async Task An_unknown_command_exits_64_with_the_usage()
    {
        var (code, _, stderr) = await RunAsync(["frobnicate"]);

        Assert.Equal(64, code);
        Assert.Contains("unknown command 'frobnicate'", stderr, StringComparison.Ordinal);
        Assert.Contains("usage: nxtop-build", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task No_arguments_print_the_usage_and_exit_64_but_help_exits_zero()
    {
        var none = await RunAsync([]);
        var help = await RunAsync(["--help"]);

        Assert.Equal(64, none.Code);
        Assert.Equal(0, help.Code);
        Assert.Contains("usage: nxtop-build", help.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_stray_argument_is_rejected()
    {
        var ex = await Assert.ThrowsAsync<NxTopBuildException>(() => RunAsync(["validate", "lab"]));

        Assert.Contains("Unexpected argument 'lab'", ex.Message, StringComparison.Ordinal);
    }

    private static async Task<(int Code, string Stdout, string Stderr)> RunAsync(string[] args)
    {
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();
        var code = await Cli.Cli.RunAsync(args, stdout, stderr, CancellationToken.None);
        return (code, stdout.ToString(), stderr.ToString());
    }

    /// <summary>Runs the built nxtop-build.dll (copied beside the tests) as its own process.</summary>
    private static Task<ToolResult> RunProcessAsync(string workingDirectory, params string[] args)
    {
        var dotnet = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host ? host : "dotnet";
        var dll = Path.Combine(AppContext.BaseDirectory, "nxtop-build.dll");
        return new ProcessRunner().RunAsync(dotnet, [dll, .. args], new ToolRun { WorkingDirectory = workingDirectory, CheckExitCode = false, Timeout = TimeSpan.FromSeconds(60) });
    }
}
