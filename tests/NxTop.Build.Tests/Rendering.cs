using System.Collections.Concurrent;
using NxTop.Build.Boot;
using NxTop.Build.Spec;

namespace NxTop.Build.Tests;

/// <summary>The real templates rendered for the real spec and profiles, once per profile.</summary>
internal static class Rendering
{
    public const string GoldenKey = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGoldenGoldenGoldenGoldenGoldenGoldenGolden00 golden@test";

    public static readonly string[] Profiles = ["none", "release", "lab", "debug", "installer", "vmtest"];

    /// <summary>The command lines, by the name their golden file has under <c>cmdline/</c>.</summary>
    public static readonly IReadOnlyDictionary<string, Func<RenderedConfigs, string>> CommandLines = new Dictionary<string, Func<RenderedConfigs, string>>
    {
        ["xen"] = c => c.XenCommandLine,
        ["dom0"] = c => c.Dom0CommandLine,
        ["xen-debug"] = c => c.XenDebugCommandLine,
        ["dom0-debug"] = c => c.Dom0DebugCommandLine,
        ["dom0-disk"] = c => c.DiskDom0CommandLine,
        ["install-args"] = c => c.InstallArguments,
    };

    private static readonly ConcurrentDictionary<string, RenderedConfigs> Cache = new(StringComparer.Ordinal);

    public static RenderedConfigs For(string profile) =>
        Cache.GetOrAdd(profile, p => new BootConfigRenderer(new TemplateRenderer(Repo.Templates)).Render(SpecLoader.Load(Repo.Spec, p), [GoldenKey]));
}
