using System.Text;

namespace NxTop.Agent.Tests;

public sealed class AgentConfigTests
{
    private const string Path = "/etc/nxtop/agent.json";

    private const string Valid = """
        {
          "centerUrl": "https://center.example.net/api",
          "pollIntervalSeconds": 300,
          "socketPath": "/run/nxtop/agent.sock",
          "stateDirectory": "/var/lib/nxtop"
        }
        """;

    private static AgentConfig Parse(string json) => AgentConfigFile.Parse(Path, Encoding.UTF8.GetBytes(json));

    private static AgentConfigException Invalid(string json) => Assert.Throws<AgentConfigException>(() => Parse(json));

    [Fact]
    public void The_documented_file_loads()
    {
        var config = Parse(Valid);

        Assert.Equal(
            new AgentConfig("https://center.example.net/api", 300, "/run/nxtop/agent.sock", "/var/lib/nxtop", "xl"),
            config);
    }

    [Fact]
    public void Only_centerUrl_is_required()
    {
        var config = Parse("""{ "centerUrl": "http://10.0.0.1:8080" }""");

        Assert.Equal((300, "/run/nxtop/agent.sock", "/var/lib/nxtop", "xl"),
            (config.PollIntervalSeconds, config.SocketPath, config.StateDirectory, config.XlPath));
    }

    [Fact]
    public void An_unknown_member_is_an_error_naming_the_file_and_the_member()
    {
        var ex = Invalid("""
            {
              "centerUrl": "https://center.example.net",
              "pollInterval": 30
            }
            """);

        Assert.Equal(
            $"{Path}: pollInterval: unknown field (line 3); the known fields are centerUrl, pollIntervalSeconds, socketPath, stateDirectory, xlPath, enrollmentToken, trustedKeysDirectory, maxBlobBytes, guestName, guestMemoryMiB, guestVcpus, guestBridge, guestKernel, guestExtra, qemuImgPath, xenstoreReadPath, desiredStateFile, inventoryRoot, guestConsoleLogDirectory, centerCaFile, guestScopeRunPath",
            ex.Message);
    }

    [Fact]
    public void A_missing_centerUrl_is_named()
    {
        var ex = Invalid("""{ "pollIntervalSeconds": 60 }""");

        Assert.Equal($"{Path}: centerUrl: required field missing (line 1)", ex.Message);
    }

    [Theory]
    [InlineData("""{ "centerUrl": "https://c", "pollIntervalSeconds": "300" }""", "pollIntervalSeconds: invalid value (line 1), expected a whole number")]
    [InlineData("""{ "centerUrl": "https://c", "pollIntervalSeconds": 1.5 }""", "pollIntervalSeconds: invalid value (line 1), expected a whole number")]
    [InlineData("""{ "centerUrl": "https://c", "socketPath": null }""", "socketPath: invalid value (line 1), expected a string")]
    [InlineData("""{ "centerUrl": null }""", "centerUrl: invalid value (line 1), expected a string")]
    [InlineData("""{ "centerUrl": 42 }""", "centerUrl: invalid value (line 1), expected a string")]
    public void A_value_of_the_wrong_type_is_named(string json, string error) =>
        Assert.Equal($"{Path}: {error}", Invalid(json).Message);

    [Fact]
    public void A_duplicate_member_is_an_error()
    {
        var ex = Invalid("""{ "centerUrl": "https://a", "centerUrl": "https://b" }""");

        Assert.Contains("centerUrl", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("[]")]
    [InlineData("{ \"centerUrl\": \"https://c\", }")]
    [InlineData("{")]
    [InlineData("null")]
    public void Malformed_JSON_names_the_file(string json)
    {
        var ex = Invalid(json);

        Assert.StartsWith(Path + ": ", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("centerUrl", "ftp://center.example.net")]
    [InlineData("centerUrl", "center.example.net")]
    [InlineData("centerUrl", "/api")]
    [InlineData("centerUrl", "https://")]
    [InlineData("centerUrl", "")]
    [InlineData("socketPath", "run/nxtop/agent.sock")]
    [InlineData("socketPath", "")]
    [InlineData("socketPath", "/")]
    [InlineData("stateDirectory", "var/lib/nxtop")]
    [InlineData("stateDirectory", "~/nxtop")]
    [InlineData("xlPath", "bin/xl")]
    [InlineData("xlPath", " ")]
    [InlineData("qemuImgPath", "usr/bin/qemu-img")]
    [InlineData("xenstoreReadPath", "")]
    [InlineData("trustedKeysDirectory", "keys")]
    [InlineData("guestKernel", "grub.bin")]
    [InlineData("guestName", "My Desktop")]
    [InlineData("guestBridge", "xenbr0, evil")]
    [InlineData("desiredStateFile", "desired.json")]
    [InlineData("inventoryRoot", "sys")]
    [InlineData("guestConsoleLogDirectory", "log")]
    [InlineData("centerCaFile", "center-ca.pem")]
    public void An_invalid_string_is_named(string field, string value)
    {
        var json = field == "centerUrl"
            ? $$"""{ "centerUrl": "{{value}}" }"""
            : $$"""{ "centerUrl": "https://center.example.net", "{{field}}": "{{value}}" }""";

        var ex = Invalid(json);

        Assert.Equal($"{Path}: {field}: ", ex.Message[..(Path.Length + field.Length + 4)]);
        Assert.Contains($"'{value}'", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("guestMemoryMiB", 32)]
    [InlineData("guestVcpus", 0)]
    [InlineData("guestVcpus", 129)]
    [InlineData("maxBlobBytes", 0)]
    public void An_out_of_range_number_is_named(string field, long value)
    {
        var ex = Invalid($$"""{ "centerUrl": "https://c", "{{field}}": {{value}} }""");

        Assert.StartsWith($"{Path}: {field}: must be", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void An_empty_enrollment_token_is_an_error()
    {
        var ex = Invalid("""{ "centerUrl": "https://c", "enrollmentToken": "" }""");

        Assert.Equal($"{Path}: enrollmentToken: must not be empty (leave it out instead)", ex.Message);
    }

    [Fact]
    public void The_lifecycle_fields_load_with_their_values()
    {
        var config = Parse("""
            { "centerUrl": "https://c", "enrollmentToken": "t-1", "guestName": "desk", "guestMemoryMiB": 2048, "guestVcpus": 2,
              "maxBlobBytes": 1073741824, "desiredStateFile": "/etc/nxtop/desired-state.json", "guestConsoleLogDirectory": null,
              "centerCaFile": "/etc/nxtop/center-ca.pem" }
            """);

        Assert.Equal("/etc/nxtop/center-ca.pem", config.CenterCaFile);
        Assert.Null(Parse("""{ "centerUrl": "https://c" }""").CenterCaFile);

        Assert.Equal(("t-1", "desk", 2048, 2, 1L << 30), (config.EnrollmentToken, config.GuestName, config.GuestMemoryMiB, config.GuestVcpus, config.MaxBlobBytes));
        Assert.Equal("/etc/nxtop/desired-state.json", config.DesiredStateFile);
        Assert.Null(config.GuestConsoleLogDirectory);
        Assert.Equal("/usr/share/nxtop/keys", config.TrustedKeysDirectory);
    }

    [Fact]
    public void A_socket_path_too_long_for_a_socket_address_is_named()
    {
        var longPath = "/run/" + new string('n', 120) + "/agent.sock";

        var ex = Invalid($$"""{ "centerUrl": "https://c", "socketPath": "{{longPath}}" }""");

        Assert.Contains("socketPath: must be at most 103 bytes", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(4, false)]
    [InlineData(5, true)]
    [InlineData(86400, true)]
    [InlineData(86401, false)]
    [InlineData(-300, false)]
    public void The_poll_interval_is_5_to_86400_seconds(int seconds, bool valid)
    {
        var json = $$"""{ "centerUrl": "https://c", "pollIntervalSeconds": {{seconds}} }""";

        if (valid)
        {
            Assert.Equal(seconds, Parse(json).PollIntervalSeconds);
        }
        else
        {
            var ex = Invalid(json);
            Assert.Equal($"{Path}: pollIntervalSeconds: must be between 5 and 86400, got {seconds}", ex.Message);
        }
    }

    [Fact]
    public void Every_invalid_field_is_reported_at_once()
    {
        var ex = Invalid("""{ "centerUrl": "gopher://x", "pollIntervalSeconds": 1, "stateDirectory": "state" }""");

        Assert.Equal(["centerUrl", "pollIntervalSeconds", "stateDirectory"], ex.Errors.Select(e => e[..e.IndexOf(':', StringComparison.Ordinal)]));
    }

    [Fact]
    public void A_missing_file_names_the_file()
    {
        using var temp = new TempDirectory();
        var missing = temp.Combine("agent.json");

        var ex = Assert.Throws<AgentConfigException>(() => AgentConfigFile.Load(missing));

        Assert.StartsWith(missing + ": cannot read the configuration file", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_reads_the_file()
    {
        using var temp = new TempDirectory();
        var file = temp.Combine("agent.json");
        File.WriteAllText(file, Valid);

        Assert.Equal("https://center.example.net/api", AgentConfigFile.Load(file).CenterUrl);
    }
}
