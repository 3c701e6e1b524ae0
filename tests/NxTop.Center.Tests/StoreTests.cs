using Microsoft.Extensions.Time.Testing;
using NxTop.Center.Storage;

namespace NxTop.Center.Tests;

public sealed class SqliteStoreTests : IDisposable
{
    private readonly string directory = TempDirectory.Create("nxtop-store-");
    private readonly FakeTimeProvider clock = StoreContract.Clock();

    public void Dispose() => TempDirectory.Delete(directory);

    private async Task<SqlCenterStore> Open()
    {
        var store = StoreFactory.Create($"Data Source={Path.Combine(directory, "center.db")}", clock);
        await store.MigrateAsync(default);
        return store;
    }

    [Fact] public Task Migrations_are_idempotent() => StoreContract.Migrations_are_idempotent(Open);
    [Fact] public Task An_enrollment_token_is_spent_once_and_expires() => StoreContract.An_enrollment_token_is_spent_once_and_expires(Open, clock);
    [Fact] public Task A_repeated_report_is_stored_once() => StoreContract.A_repeated_report_is_stored_once(Open, clock);
    [Fact] public Task Publishing_records_the_artifact_and_moves_the_track_together() => StoreContract.Publishing_records_the_artifact_and_moves_the_track_together(Open);
    [Fact] public Task Moving_a_thousand_devices_into_a_group_is_one_call() => StoreContract.Moving_a_thousand_devices_into_a_group_is_one_call(Open, clock);
    [Fact] public Task Assignments_round_trip_and_the_desired_generation_moves_only_on_change() => StoreContract.Assignments_round_trip_and_the_desired_generation_moves_only_on_change(Open, clock);
    [Fact] public Task A_kill_is_recorded_and_delivered_once() => StoreContract.A_kill_is_recorded_and_delivered_once(Open, clock);
    [Fact] public Task What_was_acknowledged_survives_a_restart() => StoreContract.What_was_acknowledged_survives_a_restart(Open, clock);
    [Fact] public Task Fleet_counts_group_by_version_and_health() => StoreContract.Fleet_counts_group_by_version_and_health(Open, clock);
    [Fact] public Task Contact_times_are_written_in_batches_and_never_go_back() => StoreContract.Contact_times_are_written_in_batches_and_never_go_back(Open, clock);
    [Fact] public Task A_failing_write_among_concurrent_ones_fails_alone() => StoreContract.A_failing_write_among_concurrent_ones_fails_alone(Open, clock);
    [Fact] public Task Admin_credentials_are_listed_and_revoked_but_never_the_last() => StoreContract.Admin_credentials_are_listed_and_revoked_but_never_the_last(Open);
    [Fact] public Task Referenced_blobs_are_those_of_published_manifests() => StoreContract.Referenced_blobs_are_those_of_published_manifests(Open, clock);

    [Fact]
    public async Task The_database_is_in_WAL_mode()
    {
        await using var store = await Open();
        using var connection = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={Path.Combine(directory, "center.db")}");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = "PRAGMA journal_mode";
        Assert.Equal("wal", command.ExecuteScalar());
    }

    [Fact]
    public void The_connection_string_chooses_the_database()
    {
        Assert.True(StoreFactory.IsPostgres("Host=db.example.net;Username=center;Database=center"));
        Assert.False(StoreFactory.IsPostgres("Data Source=/var/lib/nxtop-center/center.db"));
    }
}

[Collection(PostgresServerGroup.Name)]
[Trait("Category", "Postgres")]
public sealed class PostgresStoreTests(PostgresServer server)
{
    private readonly FakeTimeProvider clock = StoreContract.Clock();
    private string? connectionString;

    private async Task<SqlCenterStore> Open()
    {
        connectionString ??= await server.CreateDatabaseAsync();
        var store = StoreFactory.Create(connectionString, clock);
        Assert.Equal("postgresql", store.Provider);
        await store.MigrateAsync(default);
        return store;
    }

    [PostgresFact] public Task Migrations_are_idempotent() => StoreContract.Migrations_are_idempotent(Open);
    [PostgresFact] public Task An_enrollment_token_is_spent_once_and_expires() => StoreContract.An_enrollment_token_is_spent_once_and_expires(Open, clock);
    [PostgresFact] public Task A_repeated_report_is_stored_once() => StoreContract.A_repeated_report_is_stored_once(Open, clock);
    [PostgresFact] public Task Publishing_records_the_artifact_and_moves_the_track_together() => StoreContract.Publishing_records_the_artifact_and_moves_the_track_together(Open);
    [PostgresFact] public Task Moving_a_thousand_devices_into_a_group_is_one_call() => StoreContract.Moving_a_thousand_devices_into_a_group_is_one_call(Open, clock);
    [PostgresFact] public Task Assignments_round_trip_and_the_desired_generation_moves_only_on_change() => StoreContract.Assignments_round_trip_and_the_desired_generation_moves_only_on_change(Open, clock);
    [PostgresFact] public Task A_kill_is_recorded_and_delivered_once() => StoreContract.A_kill_is_recorded_and_delivered_once(Open, clock);
    [PostgresFact] public Task What_was_acknowledged_survives_a_restart() => StoreContract.What_was_acknowledged_survives_a_restart(Open, clock);
    [PostgresFact] public Task Fleet_counts_group_by_version_and_health() => StoreContract.Fleet_counts_group_by_version_and_health(Open, clock);
    [PostgresFact] public Task Contact_times_are_written_in_batches_and_never_go_back() => StoreContract.Contact_times_are_written_in_batches_and_never_go_back(Open, clock);
    [PostgresFact] public Task A_failing_write_among_concurrent_ones_fails_alone() => StoreContract.A_failing_write_among_concurrent_ones_fails_alone(Open, clock);
    [PostgresFact] public Task Admin_credentials_are_listed_and_revoked_but_never_the_last() => StoreContract.Admin_credentials_are_listed_and_revoked_but_never_the_last(Open);
    [PostgresFact] public Task Referenced_blobs_are_those_of_published_manifests() => StoreContract.Referenced_blobs_are_those_of_published_manifests(Open, clock);

    [PostgresFact]
    public async Task Two_Centers_migrating_at_once_apply_each_step_once()
    {
        connectionString ??= await server.CreateDatabaseAsync();
        await using var a = StoreFactory.Create(connectionString, clock);
        await using var b = StoreFactory.Create(connectionString, clock);
        await Task.WhenAll(a.MigrateAsync(default), b.MigrateAsync(default));
        Assert.Equal(Migrations.All[^1].Version, await a.SchemaVersionAsync(default));
    }
}
