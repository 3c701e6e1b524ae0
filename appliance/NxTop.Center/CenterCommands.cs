using NxTop.Center.Publishing;
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
}
