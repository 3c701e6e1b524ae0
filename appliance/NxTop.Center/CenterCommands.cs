using Microsoft.Extensions.Options;
using NxTop.Center.Publishing;
using NxTop.Center.Security;
using NxTop.Center.Storage;
using NxTop.Contracts;

namespace NxTop.Center;

/// <summary>Commands of the server executable besides serving.</summary>
internal static class CenterCommands
{
    /// <summary><c>nxtop-center keygen PRIVATE.key.pem</c>: a publisher key pair as PEM (private 0600, public beside it).</summary>
    public static int KeyGen(string[] args, TextWriter output, TextWriter error)
    {
        if (args is not [var path])
        {
            error.WriteLine("usage: nxtop-center keygen PATH.key.pem   (writes PATH.key.pem 0600 and PATH.pub.pem)");
            return 64;
        }

        if (File.Exists(path))
        {
            error.WriteLine($"{path} exists; not overwriting a key");
            return 1;
        }

        using var signer = ManifestSigner.Generate();
        PublisherKey.WritePair(signer, path);
        output.WriteLine($"private key: {path} (0600)");
        output.WriteLine($"public key:  {PublisherKey.PublicPathFor(path)}");
        output.WriteLine($"key id:      {signer.KeyId}");
        return 0;
    }

    /// <summary>
    /// <c>nxtop-center new-admin-token NAME [--Center:...]</c>: adds an admin credential straight to the
    /// database (for whoever can read the Center's configuration) and prints it once.
    /// </summary>
    public static async Task<int> NewAdminTokenAsync(string[] args, TextWriter output, TextWriter error)
    {
        if (args.Length == 0 || args[0].StartsWith('-'))
        {
            await error.WriteLineAsync("usage: nxtop-center new-admin-token NAME [--Center:DataDirectory=... | --Center:ConnectionString=...]").ConfigureAwait(false);
            return 64;
        }

        await using var app = CenterApp.Build(args[1..]);
        var options = app.Services.GetRequiredService<IOptions<CenterOptions>>().Value;
        options.EnsureDataDirectory();
        var store = app.Services.GetRequiredService<ICenterStore>();
        await store.MigrateAsync(CancellationToken.None).ConfigureAwait(false);
        var token = Secrets.New(Secrets.AdminPrefix);
        await store.AddAdminCredentialAsync(args[0], Secrets.Hash(token), CancellationToken.None).ConfigureAwait(false);
        await output.WriteLineAsync(token).ConfigureAwait(false);
        return 0;
    }
}
