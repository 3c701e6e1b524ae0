using Microsoft.Extensions.Options;
using NxTop.Center.Content;
using NxTop.Center.Publishing;
using NxTop.Center.Security;
using NxTop.Center.Storage;

namespace NxTop.Center;

/// <summary>
/// Runs before the server listens: migrates the schema, clears unfinished uploads, makes sure there
/// is a publisher key, and on the very first start creates the admin credential (written once to a
/// 0600 file; there is no default password).
/// </summary>
public sealed class CenterStartup(
    ICenterStore store,
    BlobStore blobs,
    PublisherKey publisherKey,
    IOptions<CenterOptions> options,
    ILogger<CenterStartup> logger) : IHostedService
{
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        await store.MigrateAsync(cancellationToken).ConfigureAwait(false);
        Log.Storage(logger, store.Provider, await store.SchemaVersionAsync(cancellationToken).ConfigureAwait(false), blobs.Root);

        var leftovers = blobs.DeleteLeftovers();
        if (leftovers > 0)
        {
            Log.LeftoversDeleted(logger, leftovers);
        }

        if (publisherKey.Created)
        {
            Log.PublisherKeyCreated(logger, publisherKey.PrivateKeyPath, publisherKey.PublicKeyPath, publisherKey.KeyId);
        }
        else
        {
            Log.PublisherKeyLoaded(logger, publisherKey.KeyId, publisherKey.PrivateKeyPath);
        }

        if (await store.CountAdminCredentialsAsync(cancellationToken).ConfigureAwait(false) == 0)
        {
            var token = Secrets.New(Secrets.AdminPrefix);
            var path = options.Value.AdminTokenPath;
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            await using (var stream = new FileStream(path, new FileStreamOptions
            {
                Mode = FileMode.Create,
                Access = FileAccess.Write,
                UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite,
            }))
            await using (var writer = new StreamWriter(stream))
            {
                await writer.WriteLineAsync(token).ConfigureAwait(false);
            }

            File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite);
            await store.AddAdminCredentialAsync("initial", Secrets.Hash(token), cancellationToken).ConfigureAwait(false);
            Log.AdminCredentialCreated(logger, path);
        }
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
