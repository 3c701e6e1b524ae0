using System.Net;
using System.Net.Http.Headers;

namespace NxTop.Qemu.Tests;

public sealed class StaticHttpServerTests : IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    [Theory]
    [InlineData("bytes=0-9", 100, 0, 9)]
    [InlineData("bytes=90-", 100, 90, 99)]
    [InlineData("bytes=-10", 100, 90, 99)]
    [InlineData("bytes=50-500", 100, 50, 99)]
    public void A_single_range_is_parsed_against_the_length(string value, long length, long from, long to)
    {
        Assert.True(StaticHttpServer.TryParseRange(value, length, out var f, out var t));
        Assert.Equal((from, to), (f, t));
    }

    [Theory]
    [InlineData("bytes=100-", 100)]
    [InlineData("bytes=0-1,5-6", 100)]
    [InlineData("lines=0-1", 100)]
    [InlineData("bytes=9-2", 100)]
    public void Unsatisfiable_or_multiple_ranges_are_not_honoured(string value, long length)
    {
        Assert.False(StaticHttpServer.TryParseRange(value, length, out _, out _));
    }

    [Fact]
    public async Task It_serves_files_under_the_prefix_with_ranges_and_nothing_outside_it()
    {
        Directory.CreateDirectory(_dir.File("root/sub"));
        File.WriteAllText(_dir.File("root/boot.ipxe"), "#!ipxe\n");
        File.WriteAllText(_dir.File("root/sub/data.bin"), "0123456789");
        File.WriteAllText(_dir.File("secret.txt"), "no");
        var log = new List<string>();
        await using var server = StaticHttpServer.Start(Path.Combine(_dir.Path, "root"), "nxtop-0.1.0", 0, l => { lock (log) { log.Add(l); } });
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{server.Port}/") };

        Assert.Equal("#!ipxe\n", await http.GetStringAsync("nxtop-0.1.0/boot.ipxe"));
        using var ranged = new HttpRequestMessage(HttpMethod.Get, "nxtop-0.1.0/sub/data.bin") { Headers = { Range = new RangeHeaderValue(3, 5) } };
        using var partial = await http.SendAsync(ranged);
        Assert.Equal(HttpStatusCode.PartialContent, partial.StatusCode);
        Assert.Equal("345", await partial.Content.ReadAsStringAsync());
        Assert.Equal(HttpStatusCode.NotFound, (await http.GetAsync("nxtop-0.1.0/../secret.txt")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await http.GetAsync("nxtop-0.1.0/%2e%2e/secret.txt")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await http.GetAsync("other/boot.ipxe")).StatusCode);
        Assert.Equal(5, server.Requests);
        Assert.Contains(log, l => l.StartsWith("HTTP GET /nxtop-0.1.0/boot.ipxe HTTP/1.1 -> 200 OK", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_port_in_use_gives_an_error_that_says_what_needs_it()
    {
        Directory.CreateDirectory(_dir.File("root/x"));
        await using var first = StaticHttpServer.Start(Path.Combine(_dir.Path, "root"), "p", 0, _ => { });

        var ex = Assert.Throws<InvalidOperationException>(() => StaticHttpServer.Start(Path.Combine(_dir.Path, "root"), "p", first.Port, _ => { }));
        Assert.Contains($"127.0.0.1:{first.Port}", ex.Message, StringComparison.Ordinal);
        Assert.Contains("PXE", ex.Message, StringComparison.Ordinal);
    }
}
