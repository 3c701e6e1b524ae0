// The one typed context of the build: arguments are parsed here, once.
public sealed class BuildContext
{
    public BuildContext(ICakeContext ctx)
    {
        Cake = ctx;
        Root = ctx.MakeAbsolute(ctx.Directory("."));
        Configuration = ctx.Argument("configuration", "Release");
        Profile = ctx.Argument("profile", "");
        Format = ctx.Argument("format", "iso-bios");
        Artifacts = Root.Combine("artifacts");
        TestResults = Artifacts.Combine("test-results");
        Solution = Root.CombineWithFilePath("NxTop.sln");
        UnitTestProjects = ctx.GetFiles("./tests/*/*.csproj").ToList();
        VmTestProject = Root.CombineWithFilePath("vm-tests/NxTop.VmTests/NxTop.VmTests.csproj");
        AgentProject = Root.CombineWithFilePath("appliance/NxTop.Agent/NxTop.Agent.csproj");
        AgentBinary = Artifacts.CombineWithFilePath("publish/NxTop.Agent/release_linux-x64/nxtop-agent");
        BuildCli = Artifacts.CombineWithFilePath($"bin/NxTop.Build.Cli/{Configuration.ToLowerInvariant()}/nxtop-build.dll");
        Version = "0.1.0";
    }

    public ICakeContext Cake { get; }
    public DirectoryPath Root { get; }
    public string Configuration { get; }
    public string Profile { get; }
    public string Format { get; }
    public DirectoryPath Artifacts { get; }
    public DirectoryPath TestResults { get; }
    public FilePath Solution { get; }
    public IReadOnlyList<FilePath> UnitTestProjects { get; }
    public FilePath VmTestProject { get; }
    public FilePath AgentProject { get; }
    public FilePath AgentBinary { get; }
    public FilePath BuildCli { get; }
    public string Version { get; }

    /// <summary>Arguments for nxtop-build that every command shares.</summary>
    public ProcessArgumentBuilder CliArgs(string command) => CliArgs(command, Profile);

    /// <summary>Arguments for nxtop-build with an explicit profile (empty: none).</summary>
    public ProcessArgumentBuilder CliArgs(string command, string profile)
    {
        var args = new ProcessArgumentBuilder().Append(BuildCli.FullPath).Append(command).Append("--repo").AppendQuoted(Root.FullPath);
        if (!string.IsNullOrEmpty(profile))
        {
            args.Append("--profile").AppendQuoted(profile);
        }
        return args;
    }
}
