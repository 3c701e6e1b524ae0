using NxTop.Build.Rootfs;

namespace NxTop.Build.Tests;

public class AptSourcesTests
{
    private const string Deb822 = """
        Types: deb
        # http://snapshot.debian.org/archive/debian/20250520T000000Z
        URIs: http://deb.debian.org/debian/
        Suites: bookworm bookworm-updates
        Components: main
        Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

        Types: deb deb-src
        URIs: http://deb.debian.org/debian-security
        Suites: bookworm-security
        Components: main

        Types: deb-src
        URIs: http://src.invalid/debian
        Suites: bookworm

        Types: deb
        URIs: http://disabled.invalid/debian
        Suites: bookworm
        Enabled: no

        types: deb
        uris: http://one.invalid/debian http://two.invalid/debian
        suites: trixie
        """;

    [Fact]
    public void Deb822_stanzas_give_each_enabled_binary_source()
    {
        var entries = AptSources.ParseDeb822(Deb822).ToList();

        Assert.Equal(
            [
                ("http://deb.debian.org/debian/", "bookworm bookworm-updates"),
                ("http://deb.debian.org/debian-security", "bookworm-security"),
                ("http://one.invalid/debian", "trixie"),
                ("http://two.invalid/debian", "trixie"),
            ],
            entries.Select(e => (e.Uri, string.Join(' ', e.Suites))));
    }

    [Fact]
    public void Deb822_with_crlf_line_ends_is_read()
    {
        var entries = AptSources.ParseDeb822("Types: deb\r\nURIs: http://m.invalid/debian\r\nSuites: bookworm\r\n").ToList();

        Assert.Equal("http://m.invalid/debian", Assert.Single(entries).Uri);
    }

    [Fact]
    public void One_line_sources_give_each_deb_line()
    {
        const string list = """
            # deb http://commented.invalid/debian bookworm main
            deb http://deb.debian.org/debian bookworm main contrib
            deb-src http://deb.debian.org/debian bookworm main

              deb [arch=amd64 signed-by=/usr/share/keyrings/x.gpg] https://mirror.invalid/debian/ bookworm-updates main
            deb http://security.debian.org/debian-security bookworm-security main # security
            """;

        var entries = AptSources.ParseOneLine(list).ToList();

        Assert.Equal(
            [
                ("http://deb.debian.org/debian", "bookworm"),
                ("https://mirror.invalid/debian/", "bookworm-updates"),
                ("http://security.debian.org/debian-security", "bookworm-security"),
            ],
            entries.Select(e => (e.Uri, Assert.Single(e.Suites))));
    }

    [Fact]
    public void Host_mirrors_come_from_this_machines_apt_sources_without_a_trailing_slash()
    {
        using var apt = new TempDir();
        apt.Write("sources.list.d/debian.sources", Deb822);

        var mirrors = AptSources.Resolve("host", "host", "bookworm", apt.Path);

        Assert.Equal(new Mirrors("http://deb.debian.org/debian", "http://deb.debian.org/debian-security"), mirrors);
    }

    [Fact]
    public void Sources_list_is_read_before_sources_list_d_and_only_list_and_sources_files_count()
    {
        using var apt = new TempDir();
        apt.Write("sources.list", "deb http://first.invalid/debian bookworm main\n");
        apt.Write("sources.list.d/a.list", "deb http://second.invalid/debian bookworm main\ndeb http://second.invalid/security bookworm-security main\n");
        apt.Write("sources.list.d/0.sources.disabled", "Types: deb\nURIs: http://ignored.invalid/security\nSuites: bookworm-security\n");

        var mirrors = AptSources.Resolve("host", "host", "bookworm", apt.Path);

        Assert.Equal(new Mirrors("http://first.invalid/debian", "http://second.invalid/security"), mirrors);
    }

    [Fact]
    public void Explicit_mirrors_are_used_as_given_and_the_host_is_not_read()
    {
        var mirrors = AptSources.Resolve("http://mirror.lab.invalid/debian/", "https://security.lab.invalid/debian-security", "bookworm", "/nonexistent/apt");

        Assert.Equal(new Mirrors("http://mirror.lab.invalid/debian", "https://security.lab.invalid/debian-security"), mirrors);
    }

    [Fact]
    public void Host_and_an_explicit_mirror_can_be_mixed()
    {
        using var apt = new TempDir();
        apt.Write("sources.list.d/debian.sources", Deb822);

        var mirrors = AptSources.Resolve("http://mirror.lab.invalid/debian", "host", "bookworm", apt.Path);

        Assert.Equal(new Mirrors("http://mirror.lab.invalid/debian", "http://deb.debian.org/debian-security"), mirrors);
    }

    [Fact]
    public void Host_fails_clearly_when_no_source_serves_the_suite()
    {
        using var apt = new TempDir();
        apt.Write("sources.list", "deb http://archive.ubuntu.com/ubuntu noble main\n");

        var ex = Assert.Throws<NxTopBuildException>(() => AptSources.Resolve("host", "http://security.invalid/", "bookworm", apt.Path));

        Assert.Contains("$.debian.mirror is \"host\"", ex.Message, StringComparison.Ordinal);
        Assert.Contains("suite 'bookworm'", ex.Message, StringComparison.Ordinal);
        Assert.Contains(apt.Path, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Host_fails_clearly_when_no_source_serves_the_security_suite()
    {
        using var apt = new TempDir();
        apt.Write("sources.list", "deb http://deb.debian.org/debian bookworm main\n");

        var ex = Assert.Throws<NxTopBuildException>(() => AptSources.Resolve("host", "host", "bookworm", apt.Path));

        Assert.Contains("$.debian.securityMirror", ex.Message, StringComparison.Ordinal);
        Assert.Contains("'bookworm-security'", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Host_fails_when_there_are_no_apt_sources_at_all()
    {
        using var apt = new TempDir();

        Assert.Throws<NxTopBuildException>(() => AptSources.Resolve("host", "host", "bookworm", apt.Path));
    }
}
