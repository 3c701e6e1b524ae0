using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace NxTop.Agent;

/// <summary>
/// The agent's configuration file (<c>/etc/nxtop/agent.json</c>). Unknown members, duplicates,
/// nulls and a missing <c>centerUrl</c> are errors; <see cref="AgentConfigFile"/> validates the values.
/// A positional record, because System.Text.Json honours constructor defaults but not property initializers.
/// </summary>
/// <param name="CenterUrl">The NxTop Center this appliance reports to (absolute http or https URL).</param>
/// <param name="PollIntervalSeconds">How often the agent polls the Center, in seconds (5..86400).</param>
/// <param name="SocketPath">The local control socket that <c>nxtopctl</c> talks to.</param>
/// <param name="StateDirectory">Where the agent keeps its state.</param>
/// <param name="XlPath">The <c>xl</c> tool: a bare name is looked up on PATH, otherwise an absolute path.</param>
/// <param name="EnrollmentToken">The one-time token exchanged for a device credential at the first contact (null: enrolled already, or stay unenrolled).</param>
/// <param name="TrustedKeysDirectory">The publisher's public keys (<c>*.pem</c>, ECDSA P-256), baked into the image.</param>
/// <param name="MaxBlobBytes">Content blobs larger than this are refused before download.</param>
/// <param name="GuestName">The desktop guest's xl domain name.</param>
/// <param name="GuestKernel">The PV kernel when a base ships none (pvgrub2 boots the kernel inside the guest's disk).</param>
/// <param name="GuestExtra">The kernel command line when a base does not set <c>kernelCommandLine</c>.</param>
/// <param name="DesiredStateFile">A desired state for a device that has never reached the Center (install media), used when there is no cached one.</param>
/// <param name="InventoryRoot">Where /proc and /sys are read for the inventory ("/" on a device).</param>
/// <param name="GuestConsoleLogDirectory">Where xenconsoled logs guest consoles (XENCONSOLED_TRACE=guest); the health check reads NXTOP_HEALTH= lines there. Null: xenstore only.</param>
/// <param name="GuestScopeRunPath">
/// <c>systemd-run</c>: each <c>xl create</c> runs in a transient scope of its own (<c>nxtop-guest-NAME-ID.scope</c> in
/// <c>nxtop-guests.slice</c>), so the processes it leaves behind (xl's domain watcher, the qdisk device model) are not
/// in the agent's cgroup and outlive a stop or restart of the agent; the scope is ordered before
/// <c>nxtop-guest-stop.service</c>, which shuts the guest down cleanly when dom0 stops. Null: xl runs as the agent's child.
/// </param>
/// <param name="CenterCaFile">PEM certificates (a private CA, or the Center's own self-signed certificate) that alone are trusted for an https centerUrl; the host name is still checked. Null: the system's trust store.</param>
[JsonUnmappedMemberHandling(JsonUnmappedMemberHandling.Disallow)]
internal sealed record AgentConfig(
    string CenterUrl,
    int PollIntervalSeconds = 300,
    string SocketPath = AgentConfig.DefaultSocketPath,
    string StateDirectory = AgentConfig.DefaultStateDirectory,
    string XlPath = "xl",
    string? EnrollmentToken = null,
    string TrustedKeysDirectory = AgentConfig.DefaultTrustedKeysDirectory,
    long MaxBlobBytes = AgentConfig.DefaultMaxBlobBytes,
    string GuestName = "desktop",
    int GuestMemoryMiB = 1024,
    int GuestVcpus = 1,
    string GuestBridge = "xenbr0",
    string GuestKernel = AgentConfig.DefaultGuestKernel,
    string? GuestExtra = null,
    string QemuImgPath = "qemu-img",
    string XenstoreReadPath = "xenstore-read",
    string? DesiredStateFile = null,
    string InventoryRoot = "/",
    string? GuestConsoleLogDirectory = AgentConfig.DefaultGuestConsoleLogDirectory,
    string? CenterCaFile = null,
    string? GuestScopeRunPath = null)
{
    public const string DefaultGuestConsoleLogDirectory = "/var/log/xen/console";
    public const string DefaultTrustedKeysDirectory = "/usr/share/nxtop/keys";
    public const long DefaultMaxBlobBytes = 64L * 1024 * 1024 * 1024;
    public const string DefaultGuestKernel = "/usr/lib/grub-xen/grub-x86_64-xen.bin";

    public const string DefaultPath = "/etc/nxtop/agent.json";
    public const string DefaultSocketPath = "/run/nxtop/agent.sock";
    public const string DefaultStateDirectory = "/var/lib/nxtop";
    public const int MinPollIntervalSeconds = 5;
    public const int MaxPollIntervalSeconds = 86_400;
}

/// <summary>A configuration file that cannot be used; every message names the file and the field.</summary>
internal sealed class AgentConfigException(string path, IReadOnlyList<string> errors)
    : Exception(FormatMessage(path, errors))
{
    public string ConfigPath { get; } = path;

    public IReadOnlyList<string> Errors { get; } = errors;

    private static string FormatMessage(string path, IReadOnlyList<string> errors) =>
        errors.Count == 1 ? $"{path}: {errors[0]}" : $"{path}: {errors.Count} errors: {string.Join("; ", errors)}";
}

internal static class AgentConfigFile
{
    /// <summary>
    /// A Unix domain socket address holds at most 107 bytes (sun_path with its NUL); the agent binds
    /// under the name plus ".new" before it renames the socket into place.
    /// </summary>
    public const int MaxSocketPathBytes = 107 - 4;

    /// <summary>Reads, parses and validates the file; throws <see cref="AgentConfigException"/>.</summary>
    public static AgentConfig Load(string path)
    {
        byte[] bytes;
        try
        {
            bytes = File.ReadAllBytes(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new AgentConfigException(path, [$"cannot read the configuration file: {ex.Message}"]);
        }

        return Parse(path, bytes);
    }

    public static AgentConfig Parse(string path, ReadOnlySpan<byte> json)
    {
        AgentConfig? config;
        try
        {
            config = JsonSerializer.Deserialize(json, AgentJson.Context.AgentConfig);
        }
        catch (JsonException ex)
        {
            throw new AgentConfigException(path, [DescribeJsonError(ex)]);
        }

        if (config is null)
        {
            throw new AgentConfigException(path, ["the file holds null, expected a JSON object"]);
        }

        var errors = Validate(config);
        return errors.Count == 0 ? config : throw new AgentConfigException(path, errors);
    }

    /// <summary>Checks the values; each error starts with the field's JSON name.</summary>
    public static IReadOnlyList<string> Validate(AgentConfig config)
    {
        var errors = new List<string>();

        if (!Uri.TryCreate(config.CenterUrl, UriKind.Absolute, out var center)
            || (center.Scheme != Uri.UriSchemeHttp && center.Scheme != Uri.UriSchemeHttps)
            || string.IsNullOrEmpty(center.Host))
        {
            errors.Add($"centerUrl: must be an absolute http or https URL, got '{config.CenterUrl}'");
        }

        if (config.PollIntervalSeconds is < AgentConfig.MinPollIntervalSeconds or > AgentConfig.MaxPollIntervalSeconds)
        {
            errors.Add($"pollIntervalSeconds: must be between {AgentConfig.MinPollIntervalSeconds} and {AgentConfig.MaxPollIntervalSeconds}, got {config.PollIntervalSeconds}");
        }

        if (!IsAbsolute(config.SocketPath))
        {
            errors.Add($"socketPath: must be an absolute path, got '{config.SocketPath}'");
        }
        else if (Encoding.UTF8.GetByteCount(config.SocketPath) > MaxSocketPathBytes)
        {
            errors.Add($"socketPath: must be at most {MaxSocketPathBytes} bytes long for a Unix socket address, got '{config.SocketPath}'");
        }

        if (!IsAbsolute(config.StateDirectory))
        {
            errors.Add($"stateDirectory: must be an absolute path, got '{config.StateDirectory}'");
        }

        CheckTool(errors, "xlPath", config.XlPath);
        CheckTool(errors, "qemuImgPath", config.QemuImgPath);
        CheckTool(errors, "xenstoreReadPath", config.XenstoreReadPath);
        if (config.GuestScopeRunPath is { } scopeRun)
        {
            CheckTool(errors, "guestScopeRunPath", scopeRun);
        }

        if (config.EnrollmentToken is { Length: 0 })
        {
            errors.Add("enrollmentToken: must not be empty (leave it out instead)");
        }

        CheckAbsolute(errors, "trustedKeysDirectory", config.TrustedKeysDirectory);
        CheckAbsolute(errors, "guestKernel", config.GuestKernel);
        CheckAbsolute(errors, "inventoryRoot", config.InventoryRoot.Length == 1 ? "//" : config.InventoryRoot);
        if (config.GuestConsoleLogDirectory is { } consoleLogs)
        {
            CheckAbsolute(errors, "guestConsoleLogDirectory", consoleLogs);
        }

        if (config.DesiredStateFile is { } desired)
        {
            CheckAbsolute(errors, "desiredStateFile", desired);
        }

        if (config.CenterCaFile is { } caFile)
        {
            CheckAbsolute(errors, "centerCaFile", caFile);
        }

        if (config.MaxBlobBytes <= 0)
        {
            errors.Add($"maxBlobBytes: must be positive, got {config.MaxBlobBytes}");
        }

        if (!NxTop.Contracts.ManifestRules.IsValidName(config.GuestName))
        {
            errors.Add($"guestName: must be [a-z0-9._-]{{1,64}}, got '{config.GuestName}'");
        }

        if (config.GuestMemoryMiB is < 64 or > 1_048_576)
        {
            errors.Add($"guestMemoryMiB: must be between 64 and 1048576, got {config.GuestMemoryMiB}");
        }

        if (config.GuestVcpus is < 1 or > 128)
        {
            errors.Add($"guestVcpus: must be between 1 and 128, got {config.GuestVcpus}");
        }

        if (string.IsNullOrWhiteSpace(config.GuestBridge) || config.GuestBridge.IndexOfAny([' ', ',', '\'', '"', '/']) >= 0)
        {
            errors.Add($"guestBridge: must be a bridge name, got '{config.GuestBridge}'");
        }

        return errors;
    }

    private static void CheckTool(List<string> errors, string field, string value)
    {
        if (string.IsNullOrWhiteSpace(value) || (value.Contains('/', StringComparison.Ordinal) && !IsAbsolute(value)))
        {
            errors.Add($"{field}: must be a command name found on PATH or an absolute path, got '{value}'");
        }
    }

    private static void CheckAbsolute(List<string> errors, string field, string value)
    {
        if (!IsAbsolute(value))
        {
            errors.Add($"{field}: must be an absolute path, got '{value}'");
        }
    }

    private static bool IsAbsolute(string path) =>
        path.Length > 1 && path[0] == '/' && !path.Contains('\0', StringComparison.Ordinal);

    private static string DescribeJsonError(JsonException ex)
    {
        var where = ex.LineNumber is { } line ? $" (line {line + 1})" : "";
        var message = StripLocation(ex.Message);
        var field = ex.Path is { } path && path.StartsWith("$.", StringComparison.Ordinal) ? path[2..] : null;

        // System.Text.Json names the member for these two; put it first, as the validation errors do.
        if (message.Contains("could not be mapped to any .NET member", StringComparison.Ordinal))
        {
            var known = string.Join(", ", AgentJson.Context.AgentConfig.Properties.Select(p => p.Name));
            return $"{field ?? QuotedNames(message).FirstOrDefault()}: unknown field{where}; the known fields are {known}";
        }

        if (message.Contains("missing required properties", StringComparison.Ordinal))
        {
            var names = QuotedNames(message[message.IndexOf("missing required properties", StringComparison.Ordinal)..]);
            return $"{string.Join(", ", names)}: required field missing{where}";
        }

        if (field is not null && AgentJson.Context.AgentConfig.Properties.FirstOrDefault(p => p.Name == field) is { } property)
        {
            var expected = property.PropertyType == typeof(int) || property.PropertyType == typeof(long) ? "a whole number" : "a string";
            return $"{field}: invalid value{where}, expected {expected}";
        }

        return field is null ? $"invalid JSON{where}: {message}" : $"{field}: invalid value{where}: {message}";
    }

    private static IEnumerable<string> QuotedNames(string message) =>
        message.Split('\'').Where((_, index) => index % 2 == 1);

    private static string StripLocation(string message)
    {
        var at = message.IndexOf(" Path: ", StringComparison.Ordinal);
        return at < 0 ? message : message[..at];
    }
}
