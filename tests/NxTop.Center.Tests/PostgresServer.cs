using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Npgsql;

namespace NxTop.Center.Tests;

/// <summary>
/// A throwaway PostgreSQL server from Debian's postgresql package: initdb into /tmp, pg_ctl start
/// on 127.0.0.1 and a free port, trust authentication, fsync off. As root it runs as the
/// <c>postgres</c> user (PostgreSQL refuses to run as root). One per test collection.
/// </summary>
public sealed class PostgresServer : IAsyncLifetime
{
    private string? root;
    private int port;
    private int databases;

    /// <summary>The PostgreSQL bin directory, or null when no server is installed.</summary>
    public static string? BinDirectory { get; } = FindBinDirectory();

    public static string? Unavailable =>
        BinDirectory is null ? "PostgreSQL server binaries not found (apt-get install postgresql)"
        : IsRoot && !File.Exists("/usr/sbin/runuser") ? "running as root without runuser"
        : null;

    private static bool IsRoot => Environment.UserName == "root";

    public async Task InitializeAsync()
    {
        if (Unavailable is not null)
        {
            return;
        }

        root = Directory.CreateTempSubdirectory("nxtop-pg-").FullName;
        var data = Path.Combine(root, "data");
        if (IsRoot)
        {
            await RunAsync("chown", ["postgres:postgres", root], asPostgres: false);
        }

        await RunAsync(Path.Combine(BinDirectory!, "initdb"), ["-D", data, "-A", "trust", "-U", "nxtop", "--no-sync", "-E", "UTF8", "--locale=C"], asPostgres: IsRoot);
        port = FreePort();
        await RunAsync(Path.Combine(BinDirectory!, "pg_ctl"),
            ["-D", data, "-l", Path.Combine(root, "server.log"), "-w", "-t", "60",
             "-o", string.Create(CultureInfo.InvariantCulture, $"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off"),
             "start"],
            asPostgres: IsRoot);
    }

    /// <summary>
    /// A fresh, empty schema on the server (much cheaper than a database); its connection string,
    /// which puts it first on the search path.
    /// </summary>
    public async Task<string> CreateDatabaseAsync()
    {
        if (root is null)
        {
            throw new InvalidOperationException(Unavailable ?? "the server did not start");
        }

        var name = string.Create(CultureInfo.InvariantCulture, $"center_{Interlocked.Increment(ref databases)}");
        await using (var connection = new NpgsqlConnection(ConnectionString(null)))
        {
            await connection.OpenAsync();
            await using var command = new NpgsqlCommand($"CREATE SCHEMA {name}", connection);
            await command.ExecuteNonQueryAsync();
        }

        return ConnectionString(name);
    }

    private string ConnectionString(string? schema) =>
        string.Create(CultureInfo.InvariantCulture, $"Host=127.0.0.1;Port={port};Username=nxtop;Database=postgres;Pooling=true")
        + (schema is null ? "" : $";Search Path={schema}");

    public async Task DisposeAsync()
    {
        if (root is null)
        {
            return;
        }

        NpgsqlConnection.ClearAllPools();
        try
        {
            await RunAsync(Path.Combine(BinDirectory!, "pg_ctl"), ["-D", Path.Combine(root, "data"), "-m", "immediate", "-w", "stop"], asPostgres: IsRoot);
        }
        finally
        {
            TempDirectory.Delete(root);
        }
    }

    private static string? FindBinDirectory()
    {
        const string debian = "/usr/lib/postgresql";
        if (Directory.Exists(debian))
        {
            var newest = Directory.GetDirectories(debian)
                .Select(d => Path.Combine(d, "bin"))
                .Where(d => File.Exists(Path.Combine(d, "initdb")) && File.Exists(Path.Combine(d, "pg_ctl")))
                .OrderByDescending(d => int.TryParse(Path.GetFileName(Path.GetDirectoryName(d)), out var v) ? v : 0)
                .FirstOrDefault();
            if (newest is not null)
            {
                return newest;
            }
        }

        return (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':')
            .FirstOrDefault(d => d.Length > 0 && File.Exists(Path.Combine(d, "initdb")) && File.Exists(Path.Combine(d, "pg_ctl")));
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static async Task RunAsync(string program, string[] arguments, bool asPostgres)
    {
        var start = new ProcessStartInfo(asPostgres ? "/usr/sbin/runuser" : program)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = "/tmp",
        };
        if (asPostgres)
        {
            foreach (var a in new[] { "-u", "postgres", "--", program })
            {
                start.ArgumentList.Add(a);
            }
        }

        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start)!;
        // pg_ctl start leaves the server holding stdout open; read only until the command exits.
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(90));
        await process.WaitForExitAsync(timeout.Token);
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"{program} {string.Join(' ', arguments)} exited {process.ExitCode}: {await stderr}");
        }
    }
}

[CollectionDefinition(Name)]
public sealed class PostgresServerGroup : ICollectionFixture<PostgresServer>
{
    public const string Name = "postgres";
}

/// <summary>A fact that is skipped, with the reason, where no PostgreSQL server can be started.</summary>
public sealed class PostgresFactAttribute : FactAttribute
{
    public PostgresFactAttribute()
    {
        if (PostgresServer.Unavailable is { } reason)
        {
            Skip = reason;
        }
    }
}
