namespace NxTop.Center.Storage;

/// <summary>One schema step. Applied in order, each in its own transaction, and recorded in schema_migrations.</summary>
public sealed record Migration(int Version, string Name, string Sql);

/// <summary>
/// The schema, as code. Append new steps; never edit one that has shipped. Numbers are BIGINT and
/// times are Unix milliseconds, so the same SQL reads the same on SQLite and PostgreSQL; booleans are 0/1.
/// <c>{identity}</c> is the dialect's auto-numbered primary key.
/// </summary>
public static class Migrations
{
    public static IReadOnlyList<Migration> All { get; } =
    [
        new(1, "initial", """
            CREATE TABLE admin_credentials (
                id {identity},
                name TEXT NOT NULL,
                token_hash TEXT NOT NULL UNIQUE,
                created_at BIGINT NOT NULL
            );
            CREATE TABLE artifacts (
                name TEXT NOT NULL,
                version BIGINT NOT NULL,
                kind TEXT NOT NULL,
                signed_manifest TEXT NOT NULL,
                created_at BIGINT NOT NULL,
                PRIMARY KEY (name, version)
            );
            CREATE TABLE artifact_blobs (
                name TEXT NOT NULL,
                version BIGINT NOT NULL,
                position BIGINT NOT NULL,
                sha256 TEXT NOT NULL,
                size BIGINT NOT NULL,
                role TEXT NOT NULL,
                media_type TEXT NOT NULL,
                PRIMARY KEY (name, version, position)
            );
            CREATE INDEX artifact_blobs_sha256 ON artifact_blobs (sha256);
            CREATE TABLE tracks (
                name TEXT NOT NULL PRIMARY KEY,
                kind TEXT NOT NULL,
                current_version BIGINT NULL,
                staged_version BIGINT NULL
            );
            CREATE TABLE device_groups (
                name TEXT NOT NULL PRIMARY KEY,
                ring TEXT NOT NULL,
                created_at BIGINT NOT NULL
            );
            CREATE TABLE enrollment_tokens (
                token_hash TEXT NOT NULL PRIMARY KEY,
                group_name TEXT NULL,
                created_at BIGINT NOT NULL,
                expires_at BIGINT NOT NULL,
                used_at BIGINT NULL,
                device_id TEXT NULL
            );
            CREATE TABLE devices (
                id TEXT NOT NULL PRIMARY KEY,
                name TEXT NOT NULL,
                credential_hash TEXT NOT NULL UNIQUE,
                group_name TEXT NULL,
                enrolled_at BIGINT NOT NULL,
                last_contact BIGINT NULL,
                base_version TEXT NULL,
                health TEXT NULL,
                rollbacks BIGINT NOT NULL DEFAULT 0,
                last_report TEXT NULL,
                inventory TEXT NULL,
                kill_requested_at BIGINT NULL,
                kill_delivered_at BIGINT NULL,
                desired_fingerprint TEXT NULL,
                desired_generation BIGINT NOT NULL DEFAULT 0
            );
            CREATE INDEX devices_group ON devices (group_name);
            CREATE TABLE device_reports (
                device_id TEXT NOT NULL,
                report_id TEXT NOT NULL,
                received_at BIGINT NOT NULL,
                body TEXT NOT NULL,
                PRIMARY KEY (device_id, report_id)
            );
            CREATE TABLE device_history (
                id {identity},
                device_id TEXT NOT NULL,
                at BIGINT NOT NULL,
                event TEXT NOT NULL,
                name TEXT NULL,
                version BIGINT NULL,
                detail TEXT NULL
            );
            CREATE INDEX device_history_device ON device_history (device_id, id);
            CREATE TABLE assignments (
                target TEXT NOT NULL,
                target_id TEXT NOT NULL,
                base_name TEXT NOT NULL,
                base_version BIGINT NULL,
                apps TEXT NOT NULL,
                policy TEXT NOT NULL,
                updated_at BIGINT NOT NULL,
                PRIMARY KEY (target, target_id)
            );
            """),
    ];
}
