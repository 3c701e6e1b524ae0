using System.Data.Common;

namespace NxTop.Center.Storage;

/// <summary>Chooses the database from the connection string: <c>Host=</c> means PostgreSQL, <c>Data Source=</c> SQLite.</summary>
public static class StoreFactory
{
    public static SqlCenterStore Create(string connectionString, TimeProvider time)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(connectionString);
        return new SqlCenterStore(IsPostgres(connectionString) ? new PostgresDialect(connectionString) : new SqliteDialect(connectionString), time);
    }

    public static bool IsPostgres(string connectionString)
    {
        var builder = new DbConnectionStringBuilder { ConnectionString = connectionString };
        return builder.ContainsKey("Host");
    }
}
