using System.Data.Common;
using System.Threading.Channels;

namespace NxTop.Center.Storage;

/// <summary>
/// Group commit for SQLite. SQLite has one writer, and every commit costs an fsync (milliseconds on a
/// disk), which capped a Center at a few hundred writes a second and queued 10,000 devices' reports
/// for seconds. Here one task takes every write that is waiting, runs each in its own savepoint
/// inside one transaction, commits once, and only then answers each caller. A write that throws is
/// rolled back to its savepoint alone and its caller gets the exception; the others commit.
/// </summary>
internal sealed class GroupCommitWriter : IAsyncDisposable
{
    private const int MaxBatch = 256;
    private readonly Func<CancellationToken, ValueTask<DbConnection>> open;
    private readonly Channel<IWrite> queue = Channel.CreateUnbounded<IWrite>(new UnboundedChannelOptions { SingleReader = true });
    private readonly Task loop;

    public GroupCommitWriter(Func<CancellationToken, ValueTask<DbConnection>> open)
    {
        this.open = open;
        loop = Task.Run(RunAsync);
    }

    private interface IWrite
    {
        CancellationToken CancellationToken { get; }

        Task RunAsync(DbConnection connection, DbTransaction transaction);

        void Committed();

        void Failed(Exception exception);
    }

    public Task<T> WriteAsync<T>(Func<DbConnection, DbTransaction, Task<T>> work, CancellationToken cancellationToken)
    {
        var write = new Write<T>(work, cancellationToken);
        ObjectDisposedException.ThrowIf(!queue.Writer.TryWrite(write), this);

        return write.Task;
    }

    public async ValueTask DisposeAsync()
    {
        queue.Writer.TryComplete();
        await loop.ConfigureAwait(false);
    }

    private async Task RunAsync()
    {
        var batch = new List<IWrite>(MaxBatch);
        while (await queue.Reader.WaitToReadAsync().ConfigureAwait(false))
        {
            batch.Clear();
            while (batch.Count < MaxBatch && queue.Reader.TryRead(out var write))
            {
                if (write.CancellationToken.IsCancellationRequested)
                {
                    write.Failed(new OperationCanceledException(write.CancellationToken));
                }
                else
                {
                    batch.Add(write);
                }
            }

            if (batch.Count > 0)
            {
                await CommitAsync(batch).ConfigureAwait(false);
            }
        }
    }

    private async Task CommitAsync(List<IWrite> batch)
    {
        var done = new List<IWrite>(batch.Count);
        try
        {
            await using var connection = await open(CancellationToken.None).ConfigureAwait(false);
            await using var transaction = await connection.BeginTransactionAsync().ConfigureAwait(false);
            foreach (var write in batch)
            {
                await Db.ExecuteAsync(connection, transaction, "SAVEPOINT w", CancellationToken.None).ConfigureAwait(false);
                try
                {
                    await write.RunAsync(connection, transaction).ConfigureAwait(false);
                    await Db.ExecuteAsync(connection, transaction, "RELEASE w", CancellationToken.None).ConfigureAwait(false);
                    done.Add(write);
                }
#pragma warning disable CA1031 // Whatever one write throws belongs to its caller, not to the batch.
                catch (Exception ex)
#pragma warning restore CA1031
                {
                    await Db.ExecuteAsync(connection, transaction, "ROLLBACK TO w; RELEASE w", CancellationToken.None).ConfigureAwait(false);
                    write.Failed(ex);
                }
            }

            await transaction.CommitAsync().ConfigureAwait(false);
        }
#pragma warning disable CA1031 // A failed commit fails every write of the batch; the loop goes on.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            foreach (var write in done)
            {
                write.Failed(ex);
            }

            foreach (var write in batch.Except(done))
            {
                write.Failed(ex);
            }

            return;
        }

        foreach (var write in done)
        {
            write.Committed();
        }
    }

    private sealed class Write<T>(Func<DbConnection, DbTransaction, Task<T>> work, CancellationToken cancellationToken) : IWrite
    {
        private readonly TaskCompletionSource<T> completion = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private T? result;

        public CancellationToken CancellationToken => cancellationToken;

        public Task<T> Task => completion.Task;

        public async Task RunAsync(DbConnection connection, DbTransaction transaction) => result = await work(connection, transaction).ConfigureAwait(false);

        public void Committed() => completion.TrySetResult(result!);

        public void Failed(Exception exception) => completion.TrySetException(exception);
    }
}
