using NxTop.Build.Tools;

namespace NxTop.Build.Tests;

public class AtomicFileTests
{
    [Fact]
    public void WriteAllText_creates_the_folder_and_leaves_no_temporary_file()
    {
        using var dir = new TempDir();
        var target = dir.File("out/sub/manifest.json");

        AtomicFile.WriteAllText(target, "{}\n");

        Assert.Equal("{}\n", File.ReadAllText(target));
        Assert.Equal([target], Directory.GetFiles(dir.File("out/sub")));
        Assert.False(File.Exists(AtomicFile.TempNameFor(target)));
    }

    [Fact]
    public void WriteAllText_replaces_an_existing_file_completely()
    {
        using var dir = new TempDir();
        var target = dir.Write("a.txt", "a much longer old content\n");

        AtomicFile.WriteAllText(target, "new\n");

        Assert.Equal("new\n", File.ReadAllText(target));
        Assert.Single(Directory.GetFiles(dir.Path));
    }

    [Fact]
    public void WriteAllText_writes_utf8_without_a_byte_order_mark()
    {
        using var dir = new TempDir();
        var target = dir.File("u.txt");

        AtomicFile.WriteAllText(target, "ü");

        Assert.Equal(new byte[] { 0xC3, 0xBC }, File.ReadAllBytes(target));
    }

    [Fact]
    public void The_temporary_name_is_hidden_beside_the_target()
    {
        using var dir = new TempDir();
        var target = dir.File("image.iso");

        var temp = AtomicFile.TempNameFor(target);

        Assert.Equal(dir.Path, Path.GetDirectoryName(temp));
        Assert.StartsWith(".image.iso.partial-", Path.GetFileName(temp), StringComparison.Ordinal);
    }

    [Fact]
    public void A_failed_write_removes_the_temporary_file_and_keeps_the_old_target()
    {
        using var dir = new TempDir();
        var target = dir.Write("t/file", "old");
        var blocker = dir.File("t/file2");
        Directory.CreateDirectory(blocker);

        // Renaming a file over a directory fails after the temporary file was written.
        Assert.ThrowsAny<IOException>(() => AtomicFile.WriteAllText(blocker, "new"));

        Assert.False(File.Exists(AtomicFile.TempNameFor(blocker)));
        Assert.Equal("old", File.ReadAllText(target));
    }

    [Fact]
    public void Commit_publishes_a_finished_temporary_file_under_its_final_name()
    {
        using var dir = new TempDir();
        var target = dir.Write("base.squashfs", "old");
        var temp = AtomicFile.TempNameFor(target);
        File.WriteAllText(temp, "finished");

        AtomicFile.Commit(temp, target);

        Assert.Equal("finished", File.ReadAllText(target));
        Assert.False(File.Exists(temp));
        Assert.Single(Directory.GetFiles(dir.Path));
    }

    [Fact]
    public void Commit_of_a_missing_temporary_file_throws_and_keeps_the_target()
    {
        using var dir = new TempDir();
        var target = dir.Write("base.squashfs", "old");

        Assert.Throws<FileNotFoundException>(() => AtomicFile.Commit(AtomicFile.TempNameFor(target), target));

        Assert.Equal("old", File.ReadAllText(target));
    }
}
