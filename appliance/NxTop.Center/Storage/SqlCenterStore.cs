using System.Data.Common;
using System.Text.Json;
using System.Text.Json.Serialization;
using NxTop.Contracts;
using NxTop.Contracts.Center;

namespace NxTop.Center.Storage;

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, UseStringEnumConverter = true)]
[JsonSerializable(typeof(List<AppAssignment>))]
[JsonSerializable(typeof(DevicePolicy))]
internal sealed partial class StoreJsonContext : JsonSerializerContext;

/// <summary>The store over ADO.NET; the dialect opens connections and names the few differences.</summary>
public sealed class SqlCenterStore(SqlDialect dialect, TimeProvider time) : ICenterStore, IAsyncDisposable
{
    private const string DeviceColumns =
        "id, name, group_name, enrolled_at, last_contact, base_version, health, rollbacks, last_report, inventory, kill_requested_at, kill_delivered_at, desired_fingerprint, desired_generation";

    public string Provider => dialect.Provider;

    private long Now => time.GetUtcNow().ToUnixTimeMilliseconds();

    public ValueTask DisposeAsync() => dialect.DisposeAsync();

    public async Task MigrateAsync(CancellationToken cancellationToken)
    {
        await using var connection = await dialect.OpenAsync(cancellationToken).ConfigureAwait(false);
        if (dialect.PrepareSql is { } prepare)
        {
            await Db.ExecuteAsync(connection, null, prepare, cancellationToken).ConfigureAwait(false);
        }

        // Under the migration lock too: two PostgreSQL sessions creating the same table at once collide.
        await using (var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false))
        {
            if (dialect.MigrationLockSql is { } lockSql)
            {
                await Db.ScalarAsync(connection, transaction, lockSql, cancellationToken).ConfigureAwait(false);
            }

            await Db.ExecuteAsync(connection, transaction, """
                CREATE TABLE IF NOT EXISTS schema_migrations (
                    version BIGINT NOT NULL PRIMARY KEY,
                    name TEXT NOT NULL,
                    applied_at BIGINT NOT NULL
                )
                """, cancellationToken).ConfigureAwait(false);
            await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        }

        foreach (var migration in Migrations.All)
        {
            await using var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
            if (dialect.MigrationLockSql is { } lockSql)
            {
                await Db.ScalarAsync(connection, transaction, lockSql, cancellationToken).ConfigureAwait(false);
            }

            var applied = await Db.ScalarAsync(connection, transaction, "SELECT COUNT(*) FROM schema_migrations WHERE version = @v", cancellationToken, ("@v", (long)migration.Version)).ConfigureAwait(false);
            if (Db.ToInt64(applied) > 0)
            {
                await transaction.RollbackAsync(cancellationToken).ConfigureAwait(false);
                continue;
            }

            await Db.ExecuteAsync(connection, transaction, migration.Sql.Replace("{identity}", dialect.IdentityColumn, StringComparison.Ordinal), cancellationToken).ConfigureAwait(false);
            await Db.ExecuteAsync(connection, transaction, "INSERT INTO schema_migrations (version, name, applied_at) VALUES (@v, @n, @t)", cancellationToken,
                ("@v", (long)migration.Version), ("@n", migration.Name), ("@t", Now)).ConfigureAwait(false);
            await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    public async Task<int> SchemaVersionAsync(CancellationToken cancellationToken)
    {
        await using var connection = await dialect.OpenAsync(cancellationToken).ConfigureAwait(false);
        return (int)Db.ToInt64(await Db.ScalarAsync(connection, null, "SELECT MAX(version) FROM schema_migrations", cancellationToken).ConfigureAwait(false));
    }

    // ---- admin credentials

    public async Task<long> CountAdminCredentialsAsync(CancellationToken cancellationToken)
    {
        await using var connection = await dialect.OpenAsync(cancellationToken).ConfigureAwait(false);
        return Db.ToInt64(await Db.ScalarAsync(connection, null, "SELECT COUNT(*) FROM admin_credentials", cancellationToken).ConfigureAwait(false));
    }

    public async Task AddAdminCredentialAsync(string name, string tokenHash, CancellationToken cancellationToken)
    {
        await dialect.WriteAsync(async (connection, transaction) =>
        {
            await Db.ExecuteAsync(connection, transaction, "INSERT INTO admin_credentials (name, token_hash, created_at) VALUES (@n, @h, @t)", cancellationToken,
                ("@n", name), ("@h", tokenHash), ("@t", Now)).ConfigureAwait(false);
        }, cancellationToken).ConfigureAwait(false);
    }

    public async Task<AdminCredential?> FindAdminCredentialAsync(string tokenHash, CancellationToken cancellationToken)
    {
        await using var connection = await dialect.OpenAsync(cancellationToken).ConfigureAwait(false);
        var rows = await Db.QueryAsync(connection, null, "SELECT id, name, created_at FROM admin_credentials WHERE token_hash = @h",
            r => new AdminCredential(r.Int64(0), r.Text(1), r.Int64(2)), cancellationToken, ("@h", tokenHash)).ConfigureAwait(false);
        return rows.Count == 0 ? null : rows[0];
    }

    public async Task<IReadOnlyList<AdminCredential>> ListAdminCredentialsAsync(CancellationToken cancellationToken)
    {
        await using var connection = await dialect.OpenAsync(cancellationToken).ConfigureAwait(false);
        return await Db.QueryAsync(connection, null, "SELECT id, name, created_at FROM admin_credentials ORDER BY id",
            r => new AdminCredential(r.Int64(0), r.Text(1), r.Int64(2)), cancellationToken).ConfigureAwait(false);
    }

    public async Task<AdminRevocation> RevokeAdminCredentialAsync(long id, CancellationToken cancellationToken) =>
        await dialect.WriteAsync(async (connection, transaction) =>
        {
            // Count and delete in one transaction: two revocations at once cannot remove the last two.
            var count = Db.ToInt64(await Db.ScalarAsync(connection, transaction, "SELECT COUNT(*) FROM admin_credentials", cancellationToken).ConfigureAwait(false));
            var exists = Db.ToInt64(await Db.ScalarAsync(connection, transaction, "SELECT COUNT(*) FROM admin_credentials WHERE id = @id", cancellationToken, ("@id", id)).ConfigureAwait(false)) > 0;
            if (!exists)
            {
                return AdminRevocation.NotFound;
            }

            if (count <= 1)
            {
                return AdminRevocation.LastCredential;
            }

            await Db.ExecuteAsync(connection, transaction, "DELETE FROM admin_credentials WHERE id = @id", cancellationToken, ("@id", id)).ConfigureAwait(false);
            return AdminRevocation.Revoked;
        }, cancellationToken).ConfigureAwait(false);

    // ---- publishing

    public async Task<bool> PublishArtifactAsync(ArtifactRecord artifact, bool makeCurrent, bool makeStaged, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(artifact);
        return await dialect.WriteAsync(async (connection, transaction) =>
        {
            var inserted = await Db.ExecuteAsync(connection, transaction, """
                INSERT INTO artifacts (name, version, kind, signed_manifest, created_at) VALUES (@name, @version, @kind, @manifest, @t)
                ON CONFLICT (name, version) DO NOTHING
                """, cancellationToken,
                ("@name", artifact.Name), ("@version", artifact.Version), ("@kind", KindText(artifact.Kind)),
                ("@manifest", artifact.SignedManifest), ("@t", artifact.CreatedAt)).ConfigureAwait(false);
            if (inserted == 0)
            {
                return false;
            }

            for (var i = 0; i < artifact.Blobs.Count; i++)
            {
                var blob = artifact.Blobs[i];
                await Db.ExecuteAsync(connection, transaction, """
                    INSERT INTO artifact_blobs (name, version, position, sha256, size, role, media_type) VALUES (@name, @version, @pos, @sha, @size, @role, @media)
                    """, cancellationToken,
                    ("@name", artifact.Name), ("@version", artifact.Version), ("@pos", (long)i), ("@sha", blob.Sha256), ("@size", blob.Size),
                    ("@role", RoleText(blob.Role)), ("@media", blob.MediaType)).ConfigureAwait(false);
            }

            await Db.ExecuteAsync(connection, transaction, """
                INSERT INTO tracks (name, kind, current_version, staged_version) VALUES (@name, @kind, @current, @staged)
                ON CONFLICT (name) DO UPDATE SET
                    current_version = COALESCE(@current, tracks.current_version),
                    staged_version = COALESCE(@staged, tracks.staged_version)
                """, cancellationToken,
                ("@name", artifact.Name), ("@kind", KindText(artifact.Kind)),
                ("@current", makeCurrent ? artifact.Version : null), ("@staged", makeStaged ? artifact.Version : null)).ConfigureAwait(false);
            return true;
        }, cancellationToken).ConfigureAwait(false);
    }

    public async Task<ArtifactRecord?> GetArtifactAsync(string name, long version, CancellationToken cancellationToken)
    {
        await using var connection = await dialect.OpenAsync(cancellationToken).ConfigureAwait(false);
        var rows = await Db.QueryAsync(connection, null, "SELECT kind, signed_manifest, created_at FROM artifacts WHERE name = @name AND version = @version",
            r => (Kind: ParseKind(r.Text(0)), Manifest: r.Text(1), Created: r.Int64(2)), cancellationToken, ("@name", name), ("@version", version)).ConfigureAwait(false);
        if (rows.Count == 0)
        {
            return null;
        }

        var blobs = await Db.QueryAsync(connection, null,
            "SELECT sha256, size, role, media_type FROM artifact_blobs WHERE name = @name AND version = @version ORDER BY position",
            r => new ManifestBlob(r.Text(0), r.Int64(1), ParseRole(r.Text(2)), r.Text(3)), cancellationToken, ("@name", name), ("@version", version)).ConfigureAwait(false);
        return new ArtifactRecord(rows[0].Kind, name, version, rows[0].Manifest, blobs, rows[0].Created);
    }

    public async Task<IReadOnlyList<long>> ListVersionsAsync(string name, CancellationToken cancellationToken)
    {
        await using var connection = await dialect.OpenAsync(cancellationToken).ConfigureAwait(false);
        return await Db.QueryAsync(connection, null, "SELECT version FROM artifacts WHERE name = @name ORDER BY version",
            r => r.Int64(0), cancellationToken, ("@name", name)).ConfigureAwait(false);
    }

    public async Task<bool> IsBlobReferencedAsync(string sha256, CancellationToken cancellationToken)
    {
        await using var connection = await dialect.OpenAsync(cancellationToken).ConfigureAwait(false);
        return Db.ToInt64(await Db.ScalarAsync(connection, null, "SELECT COUNT(*) FROM artifact_blobs WHERE sha256 = @sha", cancellationToken, ("@sha", sha256)).ConfigureAwait(false)) > 0;
    }

    public async Task<IReadOnlySet<string>> ListReferencedBlobsAsync(CancellationToken cancellationToken)
    {
        await using var connection = await dialect.OpenAsync(cancellationToken).ConfigureAwait(false);
        var rows = await Db.QueryAsync(connection, null, "SELECT DISTINCT sha256 FROM artifact_blobs", r => r.Text(0), cancellationToken).ConfigureAwait(false);
        return rows.ToHashSet(StringComparer.Ordinal);
    }

    public async Task<Track?> GetTrackAsync(string name, CancellationToken cancellationToken)
    {
        await using var connection = await dialect.OpenAsync(cancellationToken).ConfigureAwait(false);
        var rows = await Db.QueryAsync(connection, null, "SELECT name, kind, current_version, staged_version FROM tracks WHERE name = @name",
            ReadTrack, cancellationToken, ("@name", name)).ConfigureAwait(false);
        return rows.Count == 0 ? null : rows[0];
    }

    public async Task<IReadOnlyList<Track>> ListTracksAsync(CancellationToken cancellationToken)
    {
        await using var connection = await dialect.OpenAsync(cancellationToken).ConfigureAwait(false);
        return await Db.QueryAsync(connection, null, "SELECT name, kind, current_version, staged_version FROM tracks ORDER BY kind, name",
            ReadTrack, cancellationToken).ConfigureAwait(false);
    }

    public async Task SetTrackAsync(Track track, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(track);
        await dialect.WriteAsync(async (connection, transaction) =>
        {
            await Db.ExecuteAsync(connection, transaction, """
                INSERT INTO tracks (name, kind, current_version, staged_version) VALUES (@name, @kind, @current, @staged)
                ON CONFLICT (name) DO UPDATE SET current_version = @current, staged_version = @staged
                """, cancellationToken,
                ("@name", track.Name), ("@kind", KindText(track.Kind)), ("@current", track.Current), ("@staged", track.Staged)).ConfigureAwait(false);
        }, cancellationToken).ConfigureAwait(false);
    }

    // ---- groups

    public async Task PutGroupAsync(string name, GroupRing ring, CancellationToken cancellationToken)
    {
        await dialect.WriteAsync(async (connection, transaction) =>
        {
            await Db.ExecuteAsync(connection, transaction, """
                INSERT INTO device_groups (name, ring, created_at) VALUES (@name, @ring, @t)
                ON CONFLICT (name) DO UPDATE SET ring = @ring
                """, cancellationToken, ("@name", name), ("@ring", RingText(ring)), ("@t", Now)).ConfigureAwait(false);
        }, cancellationToken).ConfigureAwait(false);
    }

    public async Task<GroupRecord?> GetGroupAsync(string name, CancellationToken cancellationToken)
    {
        await using var connection = await dialect.OpenAsync(cancellationToken).ConfigureAwait(false);
        var rows = await Db.QueryAsync(connection, null, """
            SELECT g.name, g.ring, g.created_at, (SELECT COUNT(*) FROM devices d WHERE d.group_name = g.name)
            FROM device_groups g WHERE g.name = @name
            """, ReadGroup, cancellationToken, ("@name", name)).ConfigureAwait(false);
        return rows.Count == 0 ? null : rows[0];
    }

    public async Task<GroupRing?> GetGroupRingAsync(string name, CancellationToken cancellationToken)
    {
        await using var connection = await dialect.OpenAsync(cancellationToken).ConfigureAwait(false);
        var ring = await Db.ScalarAsync(connection, null, "SELECT ring FROM device_groups WHERE name = @name", cancellationToken, ("@name", name)).ConfigureAwait(false);
        return ring switch
        {
            null => null,
            "pilot" => GroupRing.Pilot,
            _ => GroupRing.General,
        };
    }

    public async Task<IReadOnlyList<GroupRecord>> ListGroupsAsync(CancellationToken cancellationToken)
    {
        await using var connection = await dialect.OpenAsync(cancellationToken).ConfigureAwait(false);
        return await Db.QueryAsync(connection, null, """
            SELECT g.name, g.ring, g.created_at, (SELECT COUNT(*) FROM devices d WHERE d.group_name = g.name)
            FROM device_groups g ORDER BY g.name
            """, ReadGroup, cancellationToken).ConfigureAwait(false);
    }

    public async Task<int> SetGroupAsync(IReadOnlyCollection<string> deviceIds, string? group, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(deviceIds);
        return await dialect.WriteAsync(async (connection, transaction) =>
        {
            await using var command = Db.Command(connection, transaction, "UPDATE devices SET group_name = @g WHERE id = @id", ("@g", group), ("@id", ""));
            await command.PrepareAsync(cancellationToken).ConfigureAwait(false);
            var moved = 0;
            foreach (var id in deviceIds)
            {
                command.Parameters[1].Value = id;
                moved += await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            }

            return moved;
        }, cancellationToken).ConfigureAwait(false);
    }

    // ---- enrollment and devices

    public async Task AddEnrollmentTokensAsync(IReadOnlyCollection<EnrollmentTokenRecord> tokens, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(tokens);
        await dialect.WriteAsync(async (connection, transaction) =>
        {
            await using var command = Db.Command(connection, transaction, """
                INSERT INTO enrollment_tokens (token_hash, group_name, created_at, expires_at) VALUES (@h, @g, @c, @e)
                """, ("@h", ""), ("@g", null), ("@c", 0L), ("@e", 0L));
            foreach (var token in tokens)
            {
                command.Parameters[0].Value = token.TokenHash;
                command.Parameters[1].Value = (object?)token.Group ?? DBNull.Value;
                command.Parameters[2].Value = token.CreatedAt;
                command.Parameters[3].Value = token.ExpiresAt;
                await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            }

        }, cancellationToken).ConfigureAwait(false);
    }

    public async Task<DeviceRecord?> RedeemEnrollmentTokenAsync(string tokenHash, string deviceId, string deviceName, string credentialHash, string? inventory, CancellationToken cancellationToken)
    {
        var now = Now;
        return await dialect.WriteAsync(async (connection, transaction) =>
        {
            var spent = await Db.QueryAsync(connection, transaction, """
                UPDATE enrollment_tokens SET used_at = @now, device_id = @id
                WHERE token_hash = @h AND used_at IS NULL AND expires_at > @now
                RETURNING group_name
                """, r => r.TextOrNull(0), cancellationToken, ("@now", now), ("@id", deviceId), ("@h", tokenHash)).ConfigureAwait(false);
            if (spent.Count == 0)
            {
                return null;
            }

            var group = spent[0];
            await Db.ExecuteAsync(connection, transaction, """
                INSERT INTO devices (id, name, credential_hash, group_name, enrolled_at, last_contact, inventory)
                VALUES (@id, @name, @cred, @g, @now, @now, @inv)
                """, cancellationToken, ("@id", deviceId), ("@name", deviceName), ("@cred", credentialHash), ("@g", group), ("@now", now), ("@inv", inventory)).ConfigureAwait(false);
            await Db.ExecuteAsync(connection, transaction, "INSERT INTO device_history (device_id, at, event) VALUES (@id, @now, 'enrolled')",
                cancellationToken, ("@id", deviceId), ("@now", now)).ConfigureAwait(false);
            return new DeviceRecord(deviceId, deviceName, group, now, now, null, null, 0, null, inventory, null, null, null, 0);
        }, cancellationToken).ConfigureAwait(false);
    }

    public Task<DeviceRecord?> FindDeviceByCredentialAsync(string credentialHash, CancellationToken cancellationToken) =>
        SingleDeviceAsync("credential_hash = @k", credentialHash, cancellationToken);

    public Task<DeviceRecord?> GetDeviceAsync(string id, CancellationToken cancellationToken) =>
        SingleDeviceAsync("id = @k", id, cancellationToken);

    public async Task<IReadOnlyList<DeviceRecord>> ListDevicesAsync(string? group, CancellationToken cancellationToken)
    {
        await using var connection = await dialect.OpenAsync(cancellationToken).ConfigureAwait(false);
        return group is null
            ? await Db.QueryAsync(connection, null, $"SELECT {DeviceColumns} FROM devices ORDER BY name, id", ReadDevice, cancellationToken).ConfigureAwait(false)
            : await Db.QueryAsync(connection, null, $"SELECT {DeviceColumns} FROM devices WHERE group_name = @g ORDER BY name, id", ReadDevice, cancellationToken, ("@g", group)).ConfigureAwait(false);
    }

    public async Task TouchDevicesAsync(IReadOnlyCollection<KeyValuePair<string, long>> contacts, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(contacts);
        if (contacts.Count == 0)
        {
            return;
        }

        await dialect.WriteAsync(async (connection, transaction) =>
        {
            await using var command = Db.Command(connection, transaction,
                "UPDATE devices SET last_contact = @t WHERE id = @id AND (last_contact IS NULL OR last_contact < @t)", ("@t", 0L), ("@id", ""));
            foreach (var (id, at) in contacts)
            {
                command.Parameters[0].Value = at;
                command.Parameters[1].Value = id;
                await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            }

        }, cancellationToken).ConfigureAwait(false);
    }

    public async Task<bool> RecordReportAsync(string deviceId, string reportId, string body, ReportSummary summary, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(summary);
        var now = Now;
        return await dialect.WriteAsync(async (connection, transaction) =>
        {
            var inserted = await Db.ExecuteAsync(connection, transaction, """
                INSERT INTO device_reports (device_id, report_id, received_at, body) VALUES (@id, @r, @now, @body)
                ON CONFLICT (device_id, report_id) DO NOTHING
                """, cancellationToken, ("@id", deviceId), ("@r", reportId), ("@now", now), ("@body", body)).ConfigureAwait(false);
            if (inserted == 0)
            {
                // A retry of a report already stored: only the contact time moves.
                await Db.ExecuteAsync(connection, transaction, "UPDATE devices SET last_contact = @now WHERE id = @id", cancellationToken, ("@now", now), ("@id", deviceId)).ConfigureAwait(false);
                return false;
            }

            var rollbacks = summary.Events.LongCount(e => e.Event == DeviceEvents.RolledBack);
            await Db.ExecuteAsync(connection, transaction, """
                UPDATE devices SET last_contact = @now, base_version = COALESCE(@base, base_version), health = COALESCE(@health, health),
                    rollbacks = rollbacks + @rb, last_report = @body, inventory = COALESCE(@inv, inventory)
                WHERE id = @id
                """, cancellationToken, ("@now", now), ("@base", summary.BaseVersion), ("@health", summary.Health), ("@rb", rollbacks), ("@body", body),
                ("@inv", summary.Inventory), ("@id", deviceId)).ConfigureAwait(false);
            foreach (var entry in summary.Events)
            {
                await Db.ExecuteAsync(connection, transaction, """
                    INSERT INTO device_history (device_id, at, event, name, version, detail) VALUES (@id, @at, @e, @n, @v, @d)
                    """, cancellationToken, ("@id", deviceId), ("@at", entry.At), ("@e", entry.Event), ("@n", entry.Name), ("@v", entry.Version), ("@d", entry.Detail)).ConfigureAwait(false);
            }

            return true;
        }, cancellationToken).ConfigureAwait(false);
    }

    public async Task<IReadOnlyList<DeviceEvent>> GetHistoryAsync(string deviceId, int limit, CancellationToken cancellationToken)
    {
        await using var connection = await dialect.OpenAsync(cancellationToken).ConfigureAwait(false);
        return await Db.QueryAsync(connection, null, """
            SELECT at, event, name, version, detail FROM device_history WHERE device_id = @id ORDER BY id DESC LIMIT @limit
            """, r => new DeviceEvent(r.Int64(0), r.Text(1), r.TextOrNull(2), r.Int64OrNull(3), r.TextOrNull(4)),
            cancellationToken, ("@id", deviceId), ("@limit", (long)limit)).ConfigureAwait(false);
    }

    public async Task<long> UpdateDesiredAsync(string deviceId, string fingerprint, CancellationToken cancellationToken)
    {
        return await dialect.WriteAsync(async (connection, transaction) =>
        {
            var bumped = await Db.QueryAsync(connection, transaction, """
                UPDATE devices SET desired_fingerprint = @f, desired_generation = desired_generation + 1
                WHERE id = @id AND (desired_fingerprint IS NULL OR desired_fingerprint <> @f)
                RETURNING desired_generation
                """, r => r.Int64(0), cancellationToken, ("@f", fingerprint), ("@id", deviceId)).ConfigureAwait(false);
            return bumped.Count > 0
                ? bumped[0]
                : Db.ToInt64(await Db.ScalarAsync(connection, transaction, "SELECT desired_generation FROM devices WHERE id = @id", cancellationToken, ("@id", deviceId)).ConfigureAwait(false));
        }, cancellationToken).ConfigureAwait(false);
    }

    public async Task<bool> RequestKillAsync(string deviceId, CancellationToken cancellationToken)
    {
        var now = Now;
        return await dialect.WriteAsync(async (connection, transaction) =>
        {
            var changed = await Db.ExecuteAsync(connection, transaction, "UPDATE devices SET kill_requested_at = COALESCE(kill_requested_at, @now) WHERE id = @id",
                cancellationToken, ("@now", now), ("@id", deviceId)).ConfigureAwait(false);
            if (changed > 0)
            {
                await Db.ExecuteAsync(connection, transaction, "INSERT INTO device_history (device_id, at, event) VALUES (@id, @now, 'kill-requested')",
                    cancellationToken, ("@id", deviceId), ("@now", now)).ConfigureAwait(false);
            }

            return changed > 0;
        }, cancellationToken).ConfigureAwait(false);
    }

    public async Task MarkKillDeliveredAsync(string deviceId, CancellationToken cancellationToken)
    {
        var now = Now;
        await dialect.WriteAsync(async (connection, transaction) =>
        {
            var changed = await Db.ExecuteAsync(connection, transaction,
                "UPDATE devices SET kill_delivered_at = @now WHERE id = @id AND kill_requested_at IS NOT NULL AND kill_delivered_at IS NULL",
                cancellationToken, ("@now", now), ("@id", deviceId)).ConfigureAwait(false);
            if (changed > 0)
            {
                await Db.ExecuteAsync(connection, transaction, "INSERT INTO device_history (device_id, at, event) VALUES (@id, @now, 'kill-delivered')",
                    cancellationToken, ("@id", deviceId), ("@now", now)).ConfigureAwait(false);
            }

        }, cancellationToken).ConfigureAwait(false);
    }

    // ---- assignments

    public async Task PutAssignmentAsync(Assignment assignment, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(assignment);
        await dialect.WriteAsync(async (connection, transaction) =>
        {
            await Db.ExecuteAsync(connection, transaction, """
                INSERT INTO assignments (target, target_id, base_name, base_version, apps, policy, updated_at)
                VALUES (@t, @id, @bn, @bv, @apps, @policy, @now)
                ON CONFLICT (target, target_id) DO UPDATE SET
                    base_name = @bn, base_version = @bv, apps = @apps, policy = @policy, updated_at = @now
                """, cancellationToken,
                ("@t", TargetText(assignment.Target)), ("@id", assignment.TargetId), ("@bn", assignment.BaseName), ("@bv", assignment.BaseVersion),
                ("@apps", JsonSerializer.Serialize(assignment.Apps.ToList(), StoreJsonContext.Default.ListAppAssignment)),
                ("@policy", JsonSerializer.Serialize(assignment.Policy, StoreJsonContext.Default.DevicePolicy)),
                ("@now", Now)).ConfigureAwait(false);
        }, cancellationToken).ConfigureAwait(false);
    }

    public async Task<Assignment?> GetAssignmentAsync(AssignmentTarget target, string targetId, CancellationToken cancellationToken)
    {
        await using var connection = await dialect.OpenAsync(cancellationToken).ConfigureAwait(false);
        var rows = await Db.QueryAsync(connection, null, """
            SELECT target, target_id, base_name, base_version, apps, policy, updated_at FROM assignments WHERE target = @t AND target_id = @id
            """, ReadAssignment, cancellationToken, ("@t", TargetText(target)), ("@id", targetId)).ConfigureAwait(false);
        return rows.Count == 0 ? null : rows[0];
    }

    public async Task<IReadOnlyList<Assignment>> ListAssignmentsAsync(CancellationToken cancellationToken)
    {
        await using var connection = await dialect.OpenAsync(cancellationToken).ConfigureAwait(false);
        return await Db.QueryAsync(connection, null, """
            SELECT target, target_id, base_name, base_version, apps, policy, updated_at FROM assignments ORDER BY target, target_id
            """, ReadAssignment, cancellationToken).ConfigureAwait(false);
    }

    public async Task<bool> DeleteAssignmentAsync(AssignmentTarget target, string targetId, CancellationToken cancellationToken)
    {
        return await dialect.WriteAsync(async (connection, transaction) =>
        {
            return await Db.ExecuteAsync(connection, transaction, "DELETE FROM assignments WHERE target = @t AND target_id = @id", cancellationToken,
                ("@t", TargetText(target)), ("@id", targetId)).ConfigureAwait(false) > 0;
        }, cancellationToken).ConfigureAwait(false);
    }

    // ---- dashboard

    public async Task<FleetCounts> CountFleetAsync(long outOfContactBefore, CancellationToken cancellationToken)
    {
        await using var connection = await dialect.OpenAsync(cancellationToken).ConfigureAwait(false);
        var totals = await Db.QueryAsync(connection, null, """
            SELECT COUNT(*),
                   COALESCE(SUM(CASE WHEN last_contact IS NULL OR last_contact < @before THEN 1 ELSE 0 END), 0),
                   COALESCE(SUM(CASE WHEN rollbacks > 0 THEN 1 ELSE 0 END), 0),
                   COALESCE(SUM(CASE WHEN kill_requested_at IS NOT NULL THEN 1 ELSE 0 END), 0)
            FROM devices
            """, r => (r.Int64(0), r.Int64(1), r.Int64(2), r.Int64(3)), cancellationToken, ("@before", outOfContactBefore)).ConfigureAwait(false);
        var byVersion = await Db.QueryAsync(connection, null,
            "SELECT COALESCE(base_version, '(none reported)'), COUNT(*) FROM devices GROUP BY COALESCE(base_version, '(none reported)') ORDER BY 1",
            r => new CountItem(r.Text(0), r.Int64(1)), cancellationToken).ConfigureAwait(false);
        var byHealth = await Db.QueryAsync(connection, null,
            "SELECT COALESCE(health, '(none reported)'), COUNT(*) FROM devices GROUP BY COALESCE(health, '(none reported)') ORDER BY 1",
            r => new CountItem(r.Text(0), r.Int64(1)), cancellationToken).ConfigureAwait(false);
        var (devices, outOfContact, withRollbacks, killPending) = totals[0];
        return new FleetCounts(devices, outOfContact, withRollbacks, killPending, byVersion, byHealth);
    }

    // ---- mapping

    private async Task<DeviceRecord?> SingleDeviceAsync(string where, string key, CancellationToken cancellationToken)
    {
        await using var connection = await dialect.OpenAsync(cancellationToken).ConfigureAwait(false);
        var rows = await Db.QueryAsync(connection, null, $"SELECT {DeviceColumns} FROM devices WHERE {where}", ReadDevice, cancellationToken, ("@k", key)).ConfigureAwait(false);
        return rows.Count == 0 ? null : rows[0];
    }

    private static DeviceRecord ReadDevice(DbDataReader r) => new(
        r.Text(0), r.Text(1), r.TextOrNull(2), r.Int64(3), r.Int64OrNull(4), r.TextOrNull(5), r.TextOrNull(6), r.Int64(7), r.TextOrNull(8),
        r.TextOrNull(9), r.Int64OrNull(10), r.Int64OrNull(11), r.TextOrNull(12), r.Int64(13));

    private static Track ReadTrack(DbDataReader r) => new(r.Text(0), ParseKind(r.Text(1)), r.Int64OrNull(2), r.Int64OrNull(3));

    private static GroupRecord ReadGroup(DbDataReader r) => new(r.Text(0), r.Text(1) == "pilot" ? GroupRing.Pilot : GroupRing.General, r.Int64(2), r.Int64(3));

    private static Assignment ReadAssignment(DbDataReader r) => new(
        r.Text(0) == "group" ? AssignmentTarget.Group : AssignmentTarget.Device,
        r.Text(1),
        r.Text(2),
        r.Int64OrNull(3),
        JsonSerializer.Deserialize(r.Text(4), StoreJsonContext.Default.ListAppAssignment) ?? [],
        JsonSerializer.Deserialize(r.Text(5), StoreJsonContext.Default.DevicePolicy) ?? throw new InvalidDataException("null policy in the database"),
        r.Int64(6));

    private static string KindText(ContentKind kind) => kind == ContentKind.App ? "app" : "base";

    private static ContentKind ParseKind(string text) => text switch
    {
        "base" => ContentKind.Base,
        "app" => ContentKind.App,
        _ => throw new InvalidDataException($"unknown content kind '{text}' in the database"),
    };

    private static string RoleText(BlobRole role) => role switch
    {
        BlobRole.Disk => "disk",
        BlobRole.Kernel => "kernel",
        BlobRole.Ramdisk => "ramdisk",
        _ => throw new ArgumentOutOfRangeException(nameof(role), role, null),
    };

    private static BlobRole ParseRole(string text) => text switch
    {
        "disk" => BlobRole.Disk,
        "kernel" => BlobRole.Kernel,
        "ramdisk" => BlobRole.Ramdisk,
        _ => throw new InvalidDataException($"unknown blob role '{text}' in the database"),
    };

    private static string RingText(GroupRing ring) => ring == GroupRing.Pilot ? "pilot" : "general";

    private static string TargetText(AssignmentTarget target) => target == AssignmentTarget.Group ? "group" : "device";
}
