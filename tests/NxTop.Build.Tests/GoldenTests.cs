using NxTop.Build.Boot;

namespace NxTop.Build.Tests;

/// <summary>
/// Every config template and command line, rendered for the real spec with each profile, against the committed
/// files in golden/&lt;profile&gt;/. See <see cref="GoldenFile"/> for NXTOP_UPDATE_GOLDEN=1.
/// </summary>
public class GoldenTests
{
    public static TheoryData<string, string> Configs()
    {
        var data = new TheoryData<string, string>();
        foreach (var profile in Rendering.Profiles)
        {
            foreach (var f in BootConfigRenderer.Files)
            {
                data.Add(profile, f.Template);
            }
        }

        return data;
    }

    public static TheoryData<string, string> CommandLines()
    {
        var data = new TheoryData<string, string>();
        foreach (var profile in Rendering.Profiles)
        {
            foreach (var name in Rendering.CommandLines.Keys)
            {
                data.Add(profile, name);
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Configs))]
    public void A_config_renders_as_its_golden_file(string profile, string template)
    {
        var rendered = Rendering.For(profile)[template];

        GoldenFile.Check(GoldenPath(profile, template), rendered.Content);
    }

    [Theory]
    [MemberData(nameof(CommandLines))]
    public void A_command_line_renders_as_its_golden_file(string profile, string name)
    {
        var line = Rendering.CommandLines[name](Rendering.For(profile));

        Assert.DoesNotContain('\n', line);
        GoldenFile.Check(CommandLinePath(profile, name), line + "\n");
    }

    [Fact]
    public void There_are_no_stale_golden_files()
    {
        var expected = Rendering.Profiles
            .SelectMany(p => BootConfigRenderer.Files.Select(f => GoldenPath(p, f.Template)).Concat(Rendering.CommandLines.Keys.Select(n => CommandLinePath(p, n))))
            .ToHashSet(StringComparer.Ordinal);
        var present = Directory.Exists(Repo.Golden) ? Directory.GetFiles(Repo.Golden, "*", SearchOption.AllDirectories) : [];
        var stale = present.Where(f => !expected.Contains(f)).Order(StringComparer.Ordinal).ToList();
        if (GoldenFile.Updating)
        {
            stale.ForEach(File.Delete);
            return;
        }

        Assert.True(stale.Count == 0, $"Golden files that no template or command line renders any more:\n  {string.Join("\n  ", stale)}\n{GoldenFile.HowToUpdate}");
    }

    [Fact]
    public void Every_template_is_rendered_by_the_config_table_or_as_a_command_line()
    {
        var templates = Directory.GetFiles(Repo.Templates, "*.sbn", SearchOption.AllDirectories)
            .Select(f => Path.GetRelativePath(Repo.Templates, f))
            .Order(StringComparer.Ordinal);
        var used = BootConfigRenderer.Files.Select(f => f.Template).Append("xen/cmdline.sbn").Append("dom0/cmdline.sbn")
            .Append("dom0/disk-args.sbn").Append("dom0/install-args.sbn").Order(StringComparer.Ordinal);

        Assert.Equal(used, templates);
    }

    [Fact]
    public void The_diff_shows_the_first_differing_line_with_context()
    {
        var diff = GoldenFile.Diff("a\nb\nc\nd\ne\n", "a\nb\nc\nD\ne\n", "golden/x.cfg");

        Assert.Equal(
            "The rendered text differs from golden/x.cfg at line 4:\n--- golden/x.cfg (golden)\n+++ rendered\n@@ line 4 @@\n a\n b\n c\n-d\n-e\n-\n+D\n+e\n+\n"
            + GoldenFile.HowToUpdate,
            diff);
        Assert.Contains("NXTOP_UPDATE_GOLDEN=1", diff, StringComparison.Ordinal);
        Assert.Null(GoldenFile.Diff("same\n", "same\n", "golden/x.cfg"));
    }

    [Fact]
    public void The_diff_makes_invisible_differences_visible()
    {
        var diff = GoldenFile.Diff("key value\n", "key value \n", "golden/x.cfg");

        Assert.Contains("-key value$", diff, StringComparison.Ordinal);
        Assert.Contains("+key value $", diff, StringComparison.Ordinal);
        Assert.Contains("+(end of file)", GoldenFile.Diff("a\nb\n", "a", "golden/x.cfg"), StringComparison.Ordinal);
    }

    private static string GoldenPath(string profile, string template) =>
        Path.Combine(Repo.Golden, profile, template[..^".sbn".Length]);

    private static string CommandLinePath(string profile, string name) =>
        Path.Combine(Repo.Golden, profile, "cmdline", name + ".txt");
}
