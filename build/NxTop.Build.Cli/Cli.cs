using System.Globalization;
using NxTop.Build.Boot;
using NxTop.Build.Spec;
using NxTop.Build.Manifest;
using NxTop.Build.Tools;

namespace NxTop.Build.Cli;

/// <summary>
/// nxtop-build: the build's command line. Cake calls it; a person can too.
/// <code>
/// nxtop-build check-host [--install]
/// nxtop-build validate [--spec F] [--profile P]
/// nxtop-build render   [--spec F] [--profile P] --out DIR
/// nxtop-build build    [--spec F] [--profile P] --agent BIN --agent-version V [--authorized-key FILE]...
/// </code>
/// </summary>
public static class Cli
{
    public static async Task<int> RunAsync(string[] args, TextWriter stdout, TextWriter stderr, CancellationToken ct)
    {
        if (args.Length == 0 || args[0] is "-h" or "--help" or "help")
        {
            await stdout.WriteLineAsync(Usage);
            return args.Length == 0 ? 64 : 0;
        }

        var options = CliOptions.Parse(args.Skip(1).ToArray());
        void Log(string line)
        {
            lock (stdout)
            {
                stdout.WriteLine($"[nxtop-build] {line}");
            }
        }

        switch (args[0])
        {
            case "check-host":
                return CheckHost(options.Has("install"), stdout, stderr);
            case "validate":
            {
                var loaded = SpecLoader.Load(options.Spec, options.Profile);
                await stdout.WriteLineAsync($"{string.Join(" + ", loaded.SourceFiles)}: valid (profile {loaded.Profile}, sha256 {loaded.Sha256}).");
                if (options.Has("print"))
                {
                    await stdout.WriteLineAsync(loaded.CanonicalJson);
                }

                return 0;
            }

            case "render":
            {
                var loaded = SpecLoader.Load(options.Spec, options.Profile);
                var repo = options.Repo;
                var configs = new BootConfigRenderer(new TemplateRenderer(Path.Combine(repo, "templates"))).Render(loaded, options.All("authorized-key").Select(File.ReadAllText).Select(s => s.Trim()).ToList());
                var outDir = options.Required("out");
                foreach (var f in configs.Files)
                {
                    AtomicFile.WriteAllText(Path.Combine(outDir, f.File.Template.Replace(".sbn", "", StringComparison.Ordinal)), f.Content);
                }

                await stdout.WriteLineAsync($"Rendered {configs.Files.Count} configs to {outDir}.");
                return 0;
            }

            case "build":
            {
                var repo = options.Repo;
                var workspace = new Workspace(repo, options.Get("cache"), options.Get("artifacts"));
                var check = HostTools.ForThisMachine().Check();
                if (!check.Ok)
                {
                    throw new NxTopBuildException($"Host tools are missing: {string.Join(", ", check.Missing.Select(m => m.What))}. Install them with:\n  sudo {check.InstallCommand}\n(or run ./build.sh --target=CheckHost as root).");
                }

                var request = new BuildRequest(
                    options.Spec,
                    options.Profile,
                    options.Required("agent"),
                    options.Required("agent-version"),
                    await SourceDateEpochAsync(options, repo, ct),
                    options.All("authorized-key").Select(File.ReadAllText).Select(s => s.Trim()).ToList())
                {
                    SshKeysFrom = options.Get("ssh-keys"),
                };
                var runner = new ProcessRunner();
                await new ApplianceBuild(workspace, runner, Log, TimeProvider.System).RunAsync(request, ct);
                return 0;
            }

            case "compare":
            {
                var a = options.Required("a");
                var b = options.Required("b");
                var result = TreeComparison.Compare(a, b);
                await stdout.WriteLineAsync(result.Report(a, b));
                if (result.Identical)
                {
                    return 0;
                }

                if (result.FirstDifference is { } first && HostTools.ProbeExists("diffoscope"))
                {
                    var runner = new ProcessRunner();
                    var diff = await runner.RunAsync("diffoscope", [Path.Combine(a, first.File), Path.Combine(b, first.File)],
                        new ToolRun { CheckExitCode = false, Timeout = TimeSpan.FromMinutes(20) }, ct);
                    await stdout.WriteLineAsync(diff.StandardOutput.Length > 20000 ? diff.StandardOutput[..20000] + "\n[diffoscope output cut]" : diff.StandardOutput);
                }

                return 1;
            }

            case "bench-report":
            {
                var workspace = new Workspace(options.Repo, options.Get("cache"), options.Get("artifacts"));
                if (!File.Exists(workspace.LastImagePointer))
                {
                    throw new NxTopBuildException("No image has been built yet (artifacts/last-image.txt is missing). Run ./build.sh first.");
                }

                var imageDir = File.ReadAllText(workspace.LastImagePointer).Trim();
                var manifest = Manifest.BenchReport.ReadManifest(imageDir);
                var iso = manifest.Iso is { } isoName ? new FileInfo(Path.Combine(imageDir, isoName)).Length : 0;
                var boots = Manifest.BenchReport.ReadBootTimings(Path.Combine(workspace.ArtifactsRoot, "vm-logs"));
                var table = Manifest.BenchReport.Render(
                    manifest,
                    iso,
                    double.Parse(options.Required("cold-seconds"), CultureInfo.InvariantCulture),
                    double.Parse(options.Required("warm-seconds"), CultureInfo.InvariantCulture),
                    boots,
                    TimeProvider.System.GetUtcNow(),
                    Manifest.BenchReport.ReadFormatTimings(workspace.ArtifactsRoot),
                    Manifest.BenchReport.ReadMeasures(Path.Combine(workspace.ArtifactsRoot, "vm-logs")));
                AtomicFile.WriteAllText(options.Required("out"), table);
                await stdout.WriteLineAsync(table);
                return 0;
            }

            default:
                await stderr.WriteLineAsync($"nxtop-build: unknown command '{args[0]}'.\n{Usage}");
                return 64;
        }
    }

    private static int CheckHost(bool install, TextWriter stdout, TextWriter stderr)
    {
        var tools = HostTools.ForThisMachine();
        var check = tools.Check();
        if (check.Ok)
        {
            stdout.WriteLine($"Host tools: all {HostTools.Requirements.Count} present.");
            return 0;
        }

        stdout.WriteLine($"Host tools missing: {string.Join("; ", check.Missing.Select(m => $"{m.What} [{m.Package}]"))}.");
        if (!install || !HostTools.IsRoot)
        {
            stderr.WriteLine($"Install them as root with:\n  apt-get update && {check.InstallCommand}");
            return 3;
        }

        var runner = new ProcessRunner();
        var env = new Dictionary<string, string> { ["DEBIAN_FRONTEND"] = "noninteractive" };
        void Echo(string l) => stdout.WriteLine("  " + l);
        runner.RunAsync("apt-get", ["update"], new ToolRun { Environment = env, OnLine = Echo }).GetAwaiter().GetResult();
        runner.RunAsync("apt-get", ["install", "-y", "--no-install-recommends", .. check.Packages], new ToolRun { Environment = env, OnLine = Echo }).GetAwaiter().GetResult();
        var after = tools.Check();
        if (!after.Ok)
        {
            stderr.WriteLine($"Still missing after apt-get install: {string.Join(", ", after.Missing.Select(m => m.What))}.");
            return 3;
        }

        stdout.WriteLine("Host tools installed.");
        return 0;
    }

    private static async Task<long> SourceDateEpochAsync(CliOptions options, string repo, CancellationToken ct)
    {
        var text = options.Get("source-date-epoch") ?? Environment.GetEnvironmentVariable("SOURCE_DATE_EPOCH");
        if (string.IsNullOrEmpty(text))
        {
            // The time of the commit being built: the same commit gives the same timestamps.
            var git = await new ProcessRunner().RunAsync("git", ["-C", repo, "log", "-1", "--format=%ct"], new ToolRun { CheckExitCode = false }, ct);
            text = git.ExitCode == 0 ? git.StandardOutput.Trim() : "";
        }

        if (!long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var epoch))
        {
            throw new NxTopBuildException($"SOURCE_DATE_EPOCH is \"{text}\"; expected seconds since 1970 (set it, or build from a git checkout).");
        }

        return epoch;
    }

    public const string Usage = """
        usage: nxtop-build <command> [options]
          check-host [--install]     check (and as root, install) the host tools the build needs
          validate   [--print]       load and check the spec and profile
          render     --out DIR       render every template for the spec into DIR
          build      --agent BIN --agent-version V [--authorized-key FILE]... [--ssh-keys DIR] [--artifacts DIR]
                                     build the appliance images into artifacts/<name>-<version>/
                                     (--ssh-keys: use these keys instead of making new ones)
          compare    --a DIR --b DIR compare two image folders byte for byte (non-zero exit on any difference)
        common options:
          --spec FILE       the spec (default appliance/appliance.json)
          --profile NAME    a drop-in from appliance/profiles/ (default: none)
          --repo DIR        the repository root (default: found from the current folder)
          --cache DIR       the Debian base cache (default $NXTOP_CACHE or ~/.cache/nxtop)
          --source-date-epoch N   timestamps for reproducible output (default $SOURCE_DATE_EPOCH, else the HEAD commit time)
        """;
}
