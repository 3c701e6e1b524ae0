// Task bodies: each is one or two calls into dotnet or the nxtop-build CLI.
public static class Steps
{
    public static void CompileSolution(ICakeContext ctx, BuildContext b) =>
        ctx.DotNetBuild(b.Solution.FullPath, new DotNetBuildSettings { Configuration = b.Configuration });

    public static void CheckHost(ICakeContext ctx, BuildContext b) => Cli(ctx, b, b.CliArgs("check-host").Append("--install"));

    public static void Validate(ICakeContext ctx, BuildContext b) => Cli(ctx, b, b.CliArgs("validate"));

    public static void PublishAgent(ICakeContext ctx, BuildContext b) => PublishAgent(ctx, b, null);

    public static void PublishAgent(ICakeContext ctx, BuildContext b, string revision)
    {
        var settings = new DotNetPublishSettings { Configuration = "Release", Runtime = "linux-x64" };
        if (revision != null)
        {
            settings.MSBuildSettings = new DotNetMSBuildSettings().WithProperty("SourceRevisionId", revision);
        }
        ctx.DotNetPublish(b.AgentProject.FullPath, settings);
    }

    public static void BuildImage(ICakeContext ctx, BuildContext b) => BuildImage(ctx, b, null);

    public static void BuildImage(ICakeContext ctx, BuildContext b, IDictionary<string, string> env) =>
        Cli(ctx, b, b.CliArgs("build").Append("--agent").AppendQuoted(b.AgentBinary.FullPath).Append("--agent-version").Append(b.Version), env);

    /// <summary>
    /// The unattended installer (profile installer: artifacts/nxtop-installer-&lt;version&gt;/), which the install
    /// scenarios boot. Built before the main image, so artifacts/last-image.txt names the main one.
    /// </summary>
    public static void BuildInstallerImage(ICakeContext ctx, BuildContext b) => BuildInstallerImage(ctx, b, null);

    public static void BuildInstallerImage(ICakeContext ctx, BuildContext b, IDictionary<string, string> env) =>
        Cli(ctx, b, b.CliArgs("build", "installer").Append("--agent").AppendQuoted(b.AgentBinary.FullPath).Append("--agent-version").Append(b.Version), env);

    /// <summary>
    /// The agent's VM-test image (profile vmtest: artifacts/nxtop-vmtest-&lt;version&gt;/, trusting the test publisher key),
    /// which the agent life-cycle tests boot. Built before the main image, so artifacts/last-image.txt names the main one.
    /// </summary>
    public static void BuildVmTestImage(ICakeContext ctx, BuildContext b) => BuildVmTestImage(ctx, b, null);

    public static void BuildVmTestImage(ICakeContext ctx, BuildContext b, IDictionary<string, string> env) =>
        Cli(ctx, b, b.CliArgs("build", "vmtest").Append("--agent").AppendQuoted(b.AgentBinary.FullPath).Append("--agent-version").Append(b.Version), env);

    public static void RunTests(ICakeContext ctx, BuildContext b, IEnumerable<FilePath> projects, string filter)
    {
        ctx.EnsureDirectoryExists(b.TestResults);
        foreach (var project in projects)
        {
            var name = project.GetFilenameWithoutExtension().FullPath;
            ctx.DotNetTest(project.FullPath, new DotNetTestSettings
            {
                Configuration = b.Configuration,
                NoBuild = true,
                Filter = filter,
                ResultsDirectory = b.TestResults,
                // Chromium is a host tool (CheckHost installs it): the dashboard's browser tests must run, not skip.
                EnvironmentVariables = new Dictionary<string, string> { ["NXTOP_BROWSER_TESTS"] = "1" },
                Loggers = new[]
                {
                    $"trx;LogFileName={name}.trx",
                    $"junit;LogFilePath={b.TestResults.FullPath}/{name}.junit.xml",
                    "console;verbosity=normal",
                },
            });
        }
    }

    public static void Bench(ICakeContext ctx, BuildContext b)
    {
        var benchDir = b.Artifacts.Combine("bench");
        var cache = benchDir.Combine("cache");
        ctx.EnsureDirectoryExists(benchDir);
        ctx.CleanDirectory(cache);
        var env = new Dictionary<string, string> { ["NXTOP_CACHE"] = cache.FullPath };

        CompileSolution(ctx, b);
        PublishAgent(ctx, b, "bench-cold");
        var cold = System.Diagnostics.Stopwatch.StartNew();
        BuildImage(ctx, b, env);
        cold.Stop();

        // The unattended installer the install scenarios boot (not timed); before the warm build, so
        // artifacts/last-image.txt ends up naming the main image.
        BuildInstallerImage(ctx, b, env);
        // And the agent's VM-test image (profile vmtest), whose life-cycle tests measure the agent.
        BuildVmTestImage(ctx, b, env);

        // An agent-only change: a new agent binary (different revision), then the same image build.
        var warm = System.Diagnostics.Stopwatch.StartNew();
        PublishAgent(ctx, b, "bench-warm-" + DateTime.UtcNow.Ticks);
        BuildImage(ctx, b, env);
        warm.Stop();

        RunTests(ctx, b, new[] { b.VmTestProject }, "Category=Smoke");
        // The agent's life cycle on the vmtest image (about an hour under TCG): its RSS, start time, patch bytes, the
        // rollback time and the power cuts go to artifacts/vm-logs/AgentDisk.measures.json, which the table includes.
        RunTests(ctx, b, new[] { b.VmTestProject }, "FullyQualifiedName~AgentLifecycleTests");

        // NxTop Center: check-in latency, errors and CPU for 1,000 and 10,000 simulated agents (the agent's own sync
        // client) polling every 60 s; about 8.5 minutes. Writes artifacts/bench/center.md; fails on any error.
        var center = ctx.StartProcess("dotnet", new ProcessSettings
        {
            WorkingDirectory = b.Root,
            Arguments = new ProcessArgumentBuilder()
                .Append("run").Append("--project").Append("appliance/NxTop.Center.Cli").Append("-c").Append("Release").Append("--")
                .Append("bench").Append("--devices").Append("1000,10000").Append("--interval").Append("60").Append("--duration").Append("180")
                .Append("--out").AppendQuoted(benchDir.CombineWithFilePath("center.md").FullPath),
        });
        if (center != 0)
        {
            throw new CakeException($"The Center benchmark exited with {center}; see its output above.");
        }
        Cli(ctx, b, b.CliArgs("bench-report")
            .Append("--cold-seconds").Append(cold.Elapsed.TotalSeconds.ToString("0.0", System.Globalization.CultureInfo.InvariantCulture))
            .Append("--warm-seconds").Append(warm.Elapsed.TotalSeconds.ToString("0.0", System.Globalization.CultureInfo.InvariantCulture))
            .Append("--out").AppendQuoted(benchDir.CombineWithFilePath("bench.md").FullPath));
        // The cache holds a Debian root (device nodes, sockets): Cake's DeleteDirectory with Force cannot reset their
        // attributes, so rm removes it, never crossing into a mount an interrupted mmdebstrap left behind.
        var rm = ctx.StartProcess("rm", new ProcessSettings { Arguments = new ProcessArgumentBuilder().Append("-rf").Append("--one-file-system").Append("--").AppendQuoted(cache.FullPath) });
        if (rm != 0)
        {
            throw new CakeException($"rm -rf {cache.FullPath} exited with {rm}.");
        }
    }

    public static void Reproducibility(ICakeContext ctx, BuildContext b)
    {
        var root = b.Artifacts.Combine("repro");
        ctx.EnsureDirectoryExists(root);
        ctx.CleanDirectory(root);
        var first = root.Combine("a");
        var second = root.Combine("b");
        // --cold: each build gets its own empty Debian cache, so mmdebstrap and the base squashfs are checked too.
        var cold = ctx.HasArgument("cold");
        IDictionary<string, string> Env(DirectoryPath dir) => cold ? new Dictionary<string, string> { ["NXTOP_CACHE"] = dir.Combine("cache").FullPath } : null;

        BuildImageInto(ctx, b, first, null, Env(first));
        var imageA = new DirectoryPath(System.IO.File.ReadAllText(first.CombineWithFilePath("last-image.txt").FullPath).Trim());
        // The second build, later and elsewhere, takes the first one's SSH keys: keys are the only intended input
        // that a build makes up (see README, Reproducible builds).
        BuildImageInto(ctx, b, second, imageA.Combine("ssh"), Env(second));
        var imageB = new DirectoryPath(System.IO.File.ReadAllText(second.CombineWithFilePath("last-image.txt").FullPath).Trim());
        Cli(ctx, b, b.CliArgs("compare").Append("--a").AppendQuoted(imageA.FullPath).Append("--b").AppendQuoted(imageB.FullPath));
    }

    private static void BuildImageInto(ICakeContext ctx, BuildContext b, DirectoryPath artifacts, DirectoryPath keys, IDictionary<string, string> env)
    {
        var args = b.CliArgs("build").Append("--agent").AppendQuoted(b.AgentBinary.FullPath).Append("--agent-version").Append(b.Version)
            .Append("--artifacts").AppendQuoted(artifacts.FullPath);
        if (keys != null)
        {
            args = args.Append("--ssh-keys").AppendQuoted(keys.FullPath);
        }

        Cli(ctx, b, args, env);
    }

    public static void Center(ICakeContext ctx, BuildContext b)
    {
        var exit = ctx.StartProcess("dotnet", new ProcessSettings
        {
            Arguments = new ProcessArgumentBuilder().Append("run").Append("--no-build").Append("-c").Append(b.Configuration)
                .Append("--project").AppendQuoted(b.Root.CombineWithFilePath("appliance/NxTop.Center/NxTop.Center.csproj").FullPath),
            WorkingDirectory = b.Root,
        });
        if (exit != 0)
        {
            throw new CakeException($"nxtop-center exited with {exit}.");
        }
    }

    public static void Run(ICakeContext ctx, BuildContext b)
    {
        var runner = b.Artifacts.CombineWithFilePath($"bin/NxTop.Run/{b.Configuration.ToLowerInvariant()}/nxtop-run.dll");
        var args = new ProcessArgumentBuilder().AppendQuoted(runner.FullPath).Append("--format").AppendQuoted(b.Format);
        var exit = ctx.StartProcess("dotnet", new ProcessSettings { Arguments = args, WorkingDirectory = b.Root });
        if (exit != 0)
        {
            throw new CakeException($"nxtop-run exited with {exit}.");
        }
    }

    public static void Clean(ICakeContext ctx, BuildContext b)
    {
        if (ctx.DirectoryExists(b.Artifacts))
        {
            ctx.DeleteDirectory(b.Artifacts, new DeleteDirectorySettings { Recursive = true, Force = true });
        }
    }

    private static void Cli(ICakeContext ctx, BuildContext b, ProcessArgumentBuilder args, IDictionary<string, string> env = null)
    {
        var settings = new ProcessSettings { Arguments = args, WorkingDirectory = b.Root };
        if (env != null)
        {
            settings.EnvironmentVariables = env;
        }
        var exit = ctx.StartProcess("dotnet", settings);
        if (exit != 0)
        {
            throw new CakeException(exit, $"nxtop-build {args.Render().Split(' ').Skip(1).FirstOrDefault()} failed with exit code {exit}; its message is above.");
        }
    }
}
