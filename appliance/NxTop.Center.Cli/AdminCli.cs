using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using NxTop.Contracts;
using NxTop.Contracts.Center;

namespace NxTop.Center.Cli;

/// <summary>
/// <c>nxtop-center-admin</c>: the release engineer's and admin's command line over the admin API.
/// The Center's URL comes from <c>--center</c> or NXTOP_CENTER_URL, the admin credential from
/// <c>--token-file</c> or NXTOP_ADMIN_TOKEN (never a command-line argument, which other users can see).
/// </summary>
public sealed class AdminCli(HttpClient http, TextWriter output, TextWriter error)
{
    public const int Usage = 64;

    public const string Help = """
        usage: nxtop-center-admin [--center URL] [--token-file PATH] COMMAND ...
          keygen PATH.key.pem                      publisher key pair as PEM (private 0600, PATH.pub.pem beside it)
          upload FILE                              stream a blob into the content store, print its sha256
          publish base|app NAME FILE [--version N] [--channel staged|current|none] [--media-type qcow2|raw]
                                                   upload FILE and publish it as a new version
          patch NAME FILE --of N [--channel ...]   publish a qcow2 delta on top of version N's chain
          republish NAME --of N                    publish version N's content again as a new version (a fleet rollback)
          tracks | track NAME                      show current/staged versions
          set-track NAME --current N [--staged M]  move the pointers
          promote NAME                             staged becomes current
          tokens [--count N] [--hours H] [--group G]   one-time enrollment tokens
          group NAME [--pilot]                     create a group (or change its ring)
          groups | devices [--group G] | device ID | fleet
          move GROUP ID...                         move devices into a group (one transaction)
          assign group|device TARGET BASE [--base-version N] [--app NAME[@N]]... [--mode shared|custom]
                 [--deadline SECONDS] [--lockout-days D] [--lockout-action none|stopGuest|pauseGuest]
          kill ID                                  wipe a lost device at its next contact
          publisher-key                            print the Center's publisher public key
          gc [--grace-minutes M]                   delete blobs no published manifest names, if older than M (default 60)
          admins | admin-add NAME | admin-revoke ID   list, add (token printed once) or revoke admin credentials
          simulate --devices N [--interval S] [--duration S] [--concurrency C] [--center-pid PID]
                                                   N simulated agents (the agent's sync client): enroll, poll, download,
                                                   report; prints latency (the Center needs Center:EnrollmentPermitsPerMinute >= N)
          bench [--devices 1000,10000] [--interval 60] [--duration 180] [--out artifacts/bench/center.md]
                [--center-dll PATH] [--no-pin] [--concurrency C]
                                                   per fleet size: starts its own Release Center (temporary data, pinned to
                                                   core 0 with taskset), simulates, writes a markdown table; exit 1 on errors
        exit codes: 0 ok, 1 the Center refused (its reason on stderr), 2 unreachable, 64 bad command line
        """;

    public static async Task<int> MainAsync(string[] args, TextWriter output, TextWriter error)
    {
        ArgumentNullException.ThrowIfNull(args);
        var rest = new List<string>(args);
        var center = Take(rest, "--center") ?? Environment.GetEnvironmentVariable("NXTOP_CENTER_URL") ?? "http://localhost:5000";
        var tokenFile = Take(rest, "--token-file");
        if (rest is ["keygen", ..])
        {
            return KeyGen([.. rest.Skip(1)], output, error);
        }

        if (rest is ["bench", ..])
        {
            return await BenchAsync(rest[1..], error).ConfigureAwait(false);
        }

        var token = tokenFile is not null ? (await File.ReadAllTextAsync(tokenFile).ConfigureAwait(false)).Trim() : Environment.GetEnvironmentVariable("NXTOP_ADMIN_TOKEN");
        using var http = new HttpClient { BaseAddress = new Uri(center), Timeout = Timeout.InfiniteTimeSpan };
        if (!string.IsNullOrEmpty(token))
        {
            http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue(ApiRoutes.AuthenticationScheme, token);
        }

        try
        {
            return await new AdminCli(http, output, error).RunAsync([.. rest]).ConfigureAwait(false);
        }
        catch (HttpRequestException ex) when (ex.StatusCode is null)
        {
            await error.WriteLineAsync($"cannot reach the Center at {center}: {ex.Message}").ConfigureAwait(false);
            return 2;
        }
    }

    /// <summary><c>bench</c>: starts its own Center per fleet size (see <see cref="CenterBench"/>); needs no --center or token.</summary>
    public static async Task<int> BenchAsync(List<string> options, TextWriter log)
    {
        ArgumentNullException.ThrowIfNull(options);
        try
        {
            var devices = (Take(options, "--devices") ?? "1000,10000").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
                .Select(d => (int)(Long(d) ?? 0)).ToList();
            if (devices.Count == 0 || devices.Any(d => d < 1))
            {
                throw new CliUsageException("bench --devices N[,M...] (each at least 1)");
            }

            var bench = new BenchOptions(
                devices,
                TimeSpan.FromSeconds(Long(Take(options, "--interval")) ?? 60),
                TimeSpan.FromSeconds(Long(Take(options, "--duration")) ?? 180),
                (int)(Long(Take(options, "--concurrency")) ?? 32),
                Take(options, "--out") ?? Path.Combine("artifacts", "bench", "center.md"),
                Take(options, "--center-dll"),
                !Flag(options, "--no-pin"));
            if (options.Count > 0)
            {
                throw new CliUsageException($"bench: unknown arguments: {string.Join(' ', options)}");
            }

            return await new CenterBench(log).RunAsync(bench, CancellationToken.None).ConfigureAwait(false);
        }
        catch (CliUsageException ex)
        {
            await log.WriteLineAsync(ex.Message).ConfigureAwait(false);
            return Usage;
        }
    }

    public static int KeyGen(string[] args, TextWriter output, TextWriter error)
    {
        ArgumentNullException.ThrowIfNull(output);
        ArgumentNullException.ThrowIfNull(error);
        if (args is not [var path])
        {
            error.WriteLine("usage: nxtop-center-admin keygen PATH.key.pem");
            return Usage;
        }

        if (File.Exists(path))
        {
            error.WriteLine($"{path} exists; not overwriting a key");
            return 1;
        }

        using var signer = ManifestSigner.Generate();
        var publicPath = path.EndsWith(".key.pem", StringComparison.Ordinal) ? path[..^".key.pem".Length] + ".pub.pem" : path + ".pub";
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        using (var stream = new FileStream(path, new FileStreamOptions
        {
            Mode = FileMode.CreateNew,
            Access = FileAccess.Write,
            UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite,
        }))
        using (var writer = new StreamWriter(stream))
        {
            writer.Write(signer.ExportPrivateKeyPem() + "\n");
        }

        File.WriteAllText(publicPath, signer.ExportPublicKeyPem() + "\n");
        output.WriteLine($"private key: {path} (0600; give it to the Center as Center:PublisherKeyPath)");
        output.WriteLine($"public key:  {publicPath} (bake it into the appliance build)");
        output.WriteLine($"key id:      {signer.KeyId}");
        return 0;
    }

    public async Task<int> RunAsync(string[] args)
    {
        ArgumentNullException.ThrowIfNull(args);
        var rest = new List<string>(args);
        try
        {
            return rest switch
            {
                ["upload", var file] => await UploadAsync(file).ConfigureAwait(false) is { } blob ? Print(blob.Sha256) : 1,
                ["publish", var kind, var name, var file, ..] => await PublishFileAsync(kind, name, file, rest[4..]).ConfigureAwait(false),
                ["patch", var name, var file, ..] => await PatchAsync(name, file, rest[3..]).ConfigureAwait(false),
                ["republish", var name, ..] => await RepublishAsync(name, rest[2..]).ConfigureAwait(false),
                ["tracks"] => await ShowAsync(CenterRoutes.AdminTracks).ConfigureAwait(false),
                ["track", var name] => await ShowAsync(CenterRoutes.AdminTrack(name)).ConfigureAwait(false),
                ["set-track", var name, ..] => await SetTrackAsync(name, rest[2..]).ConfigureAwait(false),
                ["promote", var name] => await SendAsync(HttpMethod.Post, CenterRoutes.AdminPromote(name), null).ConfigureAwait(false),
                ["tokens", ..] => await TokensAsync(rest[1..]).ConfigureAwait(false),
                ["group", var name, ..] => await SendAsync(HttpMethod.Post, CenterRoutes.AdminGroups,
                    JsonContent.Create(new GroupRequest(name, Flag(rest, "--pilot") ? GroupRing.Pilot : GroupRing.General), CenterJsonContext.Default.GroupRequest)).ConfigureAwait(false),
                ["groups"] => await ShowAsync(CenterRoutes.AdminGroups).ConfigureAwait(false),
                ["devices", ..] => await ShowAsync(Take(rest, "--group") is { } g ? $"{CenterRoutes.AdminDevices}?group={Uri.EscapeDataString(g)}" : CenterRoutes.AdminDevices).ConfigureAwait(false),
                ["device", var id] => await ShowAsync(CenterRoutes.AdminDevice(id)).ConfigureAwait(false),
                ["fleet"] => await ShowAsync(CenterRoutes.AdminFleet).ConfigureAwait(false),
                ["move", var group, .. var ids] when ids.Count > 0 => await SendAsync(HttpMethod.Post, CenterRoutes.AdminGroupMembers(group),
                    JsonContent.Create(new GroupMembersRequest(ids), CenterJsonContext.Default.GroupMembersRequest)).ConfigureAwait(false),
                ["assign", var target, var id, var baseName, ..] => await AssignAsync(target, id, baseName, rest[4..]).ConfigureAwait(false),
                ["kill", var id] => await SendAsync(HttpMethod.Post, CenterRoutes.AdminDeviceKill(id), null).ConfigureAwait(false),
                ["publisher-key"] => await ShowAsync(CenterRoutes.AdminPublisherKey).ConfigureAwait(false),
                ["simulate", ..] => await SimulateAsync(rest[1..]).ConfigureAwait(false),
                ["gc", ..] => await SendAsync(HttpMethod.Post, Long(Take(rest, "--grace-minutes")) is { } grace
                    ? string.Create(CultureInfo.InvariantCulture, $"{CenterRoutes.AdminBlobCollect}?graceMinutes={grace}") : CenterRoutes.AdminBlobCollect, null).ConfigureAwait(false),
                ["admins"] => await ShowAsync(CenterRoutes.AdminCredentials).ConfigureAwait(false),
                ["admin-add", var name] => await SendAsync(HttpMethod.Post, CenterRoutes.AdminCredentials,
                    JsonContent.Create(new AdminCredentialRequest(name), CenterJsonContext.Default.AdminCredentialRequest)).ConfigureAwait(false),
                ["admin-revoke", var id] => await SendAsync(HttpMethod.Delete, CenterRoutes.AdminCredential(Long(id)!.Value), null).ConfigureAwait(false),
                _ => Fail(Help),
            };
        }
        catch (CliUsageException ex)
        {
            await error.WriteLineAsync(ex.Message).ConfigureAwait(false);
            return Usage;
        }
    }

    private async Task<int> SimulateAsync(List<string> options)
    {
        var count = (int)(Long(Take(options, "--devices")) ?? throw new CliUsageException("simulate --devices N"));
        var interval = TimeSpan.FromSeconds(Long(Take(options, "--interval")) ?? 60);
        var duration = TimeSpan.FromSeconds(Long(Take(options, "--duration")) ?? 120);
        var concurrency = (int)(Long(Take(options, "--concurrency")) ?? 32);
        var pid = (int?)Long(Take(options, "--center-pid"));
        using var handler = new SocketsHttpHandler { MaxConnectionsPerServer = 512, PooledConnectionLifetime = TimeSpan.FromMinutes(10) };
        var simulator = new FleetSimulator(http, handler, http.BaseAddress!, error);
        var result = await simulator.RunAsync(new SimulationOptions(count, interval, duration, concurrency), pid, CancellationToken.None).ConfigureAwait(false);
        await output.WriteLineAsync(FleetSimulator.Table(result)).ConfigureAwait(false);
        return result.CheckIn.Errors + result.SteadyCheckIn.Errors + result.Report.Errors + result.Enroll.Errors + result.Download.Errors == 0 ? 0 : 1;
    }

    private async Task<BlobUploaded?> UploadAsync(string file)
    {
        if (!File.Exists(file))
        {
            throw new CliUsageException($"no file {file}");
        }

        // The hash goes with the upload, so a corrupted transfer is refused instead of stored.
        string sha256;
        await using (var hashStream = File.OpenRead(file))
        {
            sha256 = Convert.ToHexStringLower(await SHA256.HashDataAsync(hashStream).ConfigureAwait(false));
        }

        await using var stream = File.OpenRead(file);
        using var content = new StreamContent(stream, 1 << 20);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        using var response = await http.PutAsync(CenterRoutes.AdminBlobsExpecting(sha256), content).ConfigureAwait(false);
        return await ReadAsync(response, CenterJsonContext.Default.BlobUploaded).ConfigureAwait(false);
    }

    private async Task<int> PublishFileAsync(string kindText, string name, string file, List<string> options)
    {
        var kind = kindText switch
        {
            "base" => ContentKind.Base,
            "app" => ContentKind.App,
            _ => throw new CliUsageException("publish base|app NAME FILE"),
        };
        var blob = await UploadAsync(file).ConfigureAwait(false);
        if (blob is null)
        {
            return 1;
        }

        var media = MediaType(Take(options, "--media-type") ?? (kind == ContentKind.Base || file.EndsWith(".qcow2", StringComparison.Ordinal) ? "qcow2" : "raw"));
        return await PublishAsync(new PublishRequest(kind, name, Long(Take(options, "--version")), [new PublishBlob(blob.Sha256, BlobRole.Disk, media)], null,
            Channel(Take(options, "--channel")), null)).ConfigureAwait(false);
    }

    private async Task<int> PatchAsync(string name, string file, List<string> options)
    {
        var of = Long(Take(options, "--of")) ?? throw new CliUsageException("patch NAME FILE --of VERSION");
        var blob = await UploadAsync(file).ConfigureAwait(false);
        if (blob is null)
        {
            return 1;
        }

        var kind = await KindOfAsync(name).ConfigureAwait(false);
        var media = kind == ContentKind.Base ? MediaTypes.Qcow2 : MediaType(Take(options, "--media-type") ?? "raw");
        return await PublishAsync(new PublishRequest(kind, name, Long(Take(options, "--version")), [new PublishBlob(blob.Sha256, BlobRole.Disk, media)], of,
            Channel(Take(options, "--channel")), null)).ConfigureAwait(false);
    }

    private async Task<int> RepublishAsync(string name, List<string> options)
    {
        var of = Long(Take(options, "--of")) ?? throw new CliUsageException("republish NAME --of VERSION");
        var kind = await KindOfAsync(name).ConfigureAwait(false);
        return await PublishAsync(new PublishRequest(kind, name, null, [], of, Channel(Take(options, "--channel")), null)).ConfigureAwait(false);
    }

    private async Task<ContentKind> KindOfAsync(string name)
    {
        using var response = await http.GetAsync(CenterRoutes.AdminTrack(name)).ConfigureAwait(false);
        var track = await ReadAsync(response, CenterJsonContext.Default.TrackInfo).ConfigureAwait(false);
        return track?.Kind ?? throw new CliUsageException($"nothing named '{name}' is published");
    }

    private async Task<int> PublishAsync(PublishRequest request) =>
        await SendAsync(HttpMethod.Post, CenterRoutes.AdminContent, JsonContent.Create(request, CenterJsonContext.Default.PublishRequest)).ConfigureAwait(false);

    private async Task<int> SetTrackAsync(string name, List<string> options)
    {
        var current = Long(Take(options, "--current")) ?? throw new CliUsageException("set-track NAME --current N [--staged M]");
        return await SendAsync(HttpMethod.Put, CenterRoutes.AdminTrack(name),
            JsonContent.Create(new TrackUpdate(current, Long(Take(options, "--staged"))), CenterJsonContext.Default.TrackUpdate)).ConfigureAwait(false);
    }

    private async Task<int> TokensAsync(List<string> options)
    {
        var request = new EnrollmentTokenRequest(Take(options, "--group"), (int)(Long(Take(options, "--count")) ?? 1), (int)(Long(Take(options, "--hours")) ?? 72));
        using var response = await http.PostAsync(CenterRoutes.AdminEnrollmentTokens, JsonContent.Create(request, CenterJsonContext.Default.EnrollmentTokenRequest)).ConfigureAwait(false);
        var issued = await ReadAsync(response, CenterJsonContext.Default.EnrollmentTokensIssued).ConfigureAwait(false);
        if (issued is null)
        {
            return 1;
        }

        foreach (var token in issued.Tokens)
        {
            await output.WriteLineAsync(token).ConfigureAwait(false);
        }

        await error.WriteLineAsync(string.Create(CultureInfo.InvariantCulture, $"{issued.Tokens.Count} token(s), valid until {issued.ExpiresAt:u}; shown once")).ConfigureAwait(false);
        return 0;
    }

    private async Task<int> AssignAsync(string target, string id, string baseName, List<string> options)
    {
        var path = target switch
        {
            "group" => CenterRoutes.AdminGroupAssignment(id),
            "device" => CenterRoutes.AdminDeviceAssignment(id),
            _ => throw new CliUsageException("assign group|device TARGET BASE ..."),
        };
        var apps = new List<AppAssignment>();
        while (Take(options, "--app") is { } app)
        {
            var at = app.IndexOf('@', StringComparison.Ordinal);
            apps.Add(at < 0 ? new AppAssignment(app, null) : new AppAssignment(app[..at], Long(app[(at + 1)..])));
        }

        var policy = new DevicePolicy(
            Take(options, "--mode") switch
            {
                null or "shared" => ImageMode.Shared,
                "custom" => ImageMode.Custom,
                var other => throw new CliUsageException($"--mode shared|custom, not '{other}'"),
            },
            (int)(Long(Take(options, "--deadline")) ?? 300),
            (int)(Long(Take(options, "--lockout-days")) ?? 30),
            Take(options, "--lockout-action") switch
            {
                null or "none" => LockoutAction.None,
                "stopGuest" => LockoutAction.StopGuest,
                "pauseGuest" => LockoutAction.PauseGuest,
                var other => throw new CliUsageException($"--lockout-action none|stopGuest|pauseGuest, not '{other}'"),
            });
        return await SendAsync(HttpMethod.Put, path,
            JsonContent.Create(new AssignmentRequest(baseName, Long(Take(options, "--base-version")), apps, policy), CenterJsonContext.Default.AssignmentRequest)).ConfigureAwait(false);
    }

    private async Task<int> ShowAsync(string path) => await SendAsync(HttpMethod.Get, path, null).ConfigureAwait(false);

    /// <summary>Sends, prints the body on success (JSON as the Center wrote it), or the Center's reason on stderr.</summary>
    private async Task<int> SendAsync(HttpMethod method, string path, HttpContent? content)
    {
        using var request = new HttpRequestMessage(method, path) { Content = content };
        using var response = await http.SendAsync(request).ConfigureAwait(false);
        var body = await response.Content.ReadAsStringAsync().ConfigureAwait(false);
        if (!response.IsSuccessStatusCode)
        {
            await error.WriteLineAsync(Refusal(response.StatusCode, body)).ConfigureAwait(false);
            return 1;
        }

        if (body.Length > 0)
        {
            await output.WriteLineAsync(body).ConfigureAwait(false);
        }

        return 0;
    }

    private async Task<T?> ReadAsync<T>(HttpResponseMessage response, JsonTypeInfo<T> typeInfo)
        where T : class
    {
        if (!response.IsSuccessStatusCode)
        {
            await error.WriteLineAsync(Refusal(response.StatusCode, await response.Content.ReadAsStringAsync().ConfigureAwait(false))).ConfigureAwait(false);
            return null;
        }

        return await response.Content.ReadFromJsonAsync(typeInfo).ConfigureAwait(false);
    }

    private static string Refusal(HttpStatusCode status, string body)
    {
        var detail = body;
        try
        {
            using var document = JsonDocument.Parse(body);
            if (document.RootElement.ValueKind == JsonValueKind.Object && document.RootElement.TryGetProperty("detail", out var d) && d.ValueKind == JsonValueKind.String)
            {
                detail = d.GetString()!;
            }
        }
        catch (JsonException)
        {
        }

        return string.Create(CultureInfo.InvariantCulture, $"the Center refused ({(int)status} {status}): {detail}");
    }

    private int Print(string line)
    {
        output.WriteLine(line);
        return 0;
    }

    private int Fail(string message)
    {
        error.WriteLine(message);
        return Usage;
    }

    private static string MediaType(string text) => text switch
    {
        "qcow2" => MediaTypes.Qcow2,
        "raw" => MediaTypes.Raw,
        _ => throw new CliUsageException($"--media-type qcow2|raw, not '{text}'"),
    };

    private static PublishChannel Channel(string? text) => text switch
    {
        null or "staged" => PublishChannel.Staged,
        "current" => PublishChannel.Current,
        "none" => PublishChannel.None,
        _ => throw new CliUsageException($"--channel staged|current|none, not '{text}'"),
    };

    private static long? Long(string? text) =>
        text is null ? null
        : long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var value) ? value
        : throw new CliUsageException($"'{text}' is not a number");

    private static bool Flag(List<string> args, string name) => args.Remove(name);

    private static string? Take(List<string> args, string name)
    {
        var at = args.IndexOf(name);
        if (at < 0)
        {
            return null;
        }

        if (at + 1 >= args.Count)
        {
            throw new CliUsageException($"{name} needs a value");
        }

        var value = args[at + 1];
        args.RemoveRange(at, 2);
        return value;
    }
}

internal sealed class CliUsageException(string message) : Exception(message);
