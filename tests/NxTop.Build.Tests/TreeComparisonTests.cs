using NxTop.Build.Manifest;

namespace NxTop.Build.Tests;

public sealed class TreeComparisonTests : IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    private string Tree(string name, params (string File, byte[] Bytes)[] files)
    {
        var root = Path.Combine(_dir.Path, name);
        foreach (var (file, bytes) in files)
        {
            var path = Path.Combine(root, file);
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            File.WriteAllBytes(path, bytes);
        }

        Directory.CreateDirectory(root);
        return root;
    }

    [Fact]
    public void Identical_trees_are_reproducible()
    {
        var big = new byte[3 << 20];
        new Random(7).NextBytes(big);
        var a = Tree("a", ("x.iso", big), ("pxe/boot.ipxe", "#!ipxe"u8.ToArray()));
        var b = Tree("b", ("x.iso", (byte[])big.Clone()), ("pxe/boot.ipxe", "#!ipxe"u8.ToArray()));

        var result = TreeComparison.Compare(a, b);

        Assert.True(result.Identical, result.Report(a, b));
        Assert.Equal(2, result.FilesCompared);
        Assert.StartsWith("Reproducible: 2 files", result.Report(a, b), StringComparison.Ordinal);
    }

    [Fact]
    public void The_first_differing_byte_is_found_past_the_first_buffer()
    {
        var big = new byte[3 << 20];
        var other = (byte[])big.Clone();
        other[(2 << 20) + 5] = 1;
        var a = Tree("a", ("x.iso", big));
        var b = Tree("b", ("x.iso", other));

        var result = TreeComparison.Compare(a, b);

        Assert.False(result.Identical);
        Assert.Equal(new FileDifference("x.iso", (2 << 20) + 5, $"differs from byte {(2 << 20) + 5} (both {3 << 20} bytes)"), result.FirstDifference);
        Assert.Contains("NOT reproducible: 1 of 1 files differ", result.Report(a, b), StringComparison.Ordinal);
    }

    [Fact]
    public void A_shorter_file_and_a_one_sided_file_are_differences_in_path_order()
    {
        var a = Tree("a", ("b.txt", "abc"u8.ToArray()), ("c.txt", "1"u8.ToArray()));
        var b = Tree("b", ("b.txt", "ab"u8.ToArray()), ("a.txt", "new"u8.ToArray()));

        var result = TreeComparison.Compare(a, b);

        Assert.Equal(["a.txt", "b.txt", "c.txt"], result.Differences.Select(d => d.File));
        Assert.Equal("only in the second tree", result.Differences[0].Detail);
        Assert.Equal(2, result.Differences[1].Offset);
        Assert.Equal("only in the first tree", result.Differences[2].Detail);
    }
}
