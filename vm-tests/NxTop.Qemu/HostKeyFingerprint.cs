using System.Security.Cryptography;

namespace NxTop.Qemu;

/// <summary>
/// SHA256 host key fingerprints in OpenSSH's form: unpadded base64 of the SHA256 of the key blob, which is what
/// <c>ssh-keygen -lf</c> prints after <c>SHA256:</c> and what SSH.NET's <c>HostKeyEventArgs.FingerPrintSHA256</c> holds.
/// </summary>
public static class HostKeyFingerprint
{
    private const string Prefix = "SHA256:";

    /// <summary>The fingerprint (no prefix) of an OpenSSH public key line such as <c>ssh-ed25519 AAAA... comment</c>.</summary>
    public static string FromPublicKeyLine(string line)
    {
        ArgumentNullException.ThrowIfNull(line);
        var fields = line.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
        // Lines from authorized_keys may start with options; the blob is the field after the key type.
        var typeIndex = Array.FindIndex(fields, f => f.StartsWith("ssh-", StringComparison.Ordinal)
            || f.StartsWith("ecdsa-", StringComparison.Ordinal) || f.StartsWith("sk-", StringComparison.Ordinal));
        if (typeIndex < 0 || typeIndex + 1 >= fields.Length)
        {
            throw new FormatException($"Not an OpenSSH public key line: '{line}'.");
        }

        byte[] blob;
        try
        {
            blob = Convert.FromBase64String(fields[typeIndex + 1]);
        }
        catch (FormatException e)
        {
            throw new FormatException($"The key blob of '{line}' is not base64.", e);
        }

        return Convert.ToBase64String(SHA256.HashData(blob)).TrimEnd('=');
    }

    /// <summary>The fingerprint (no prefix) of the first key in an OpenSSH <c>.pub</c> file.</summary>
    public static string FromPublicKeyFile(string path)
    {
        var line = File.ReadLines(path).FirstOrDefault(l => !string.IsNullOrWhiteSpace(l) && !l.TrimStart().StartsWith('#'))
            ?? throw new FormatException($"No public key in '{path}'.");
        return FromPublicKeyLine(line);
    }

    /// <summary>The fingerprint without a leading <c>SHA256:</c> and padding, so either spelling compares equal.</summary>
    public static string Normalize(string fingerprint)
    {
        ArgumentNullException.ThrowIfNull(fingerprint);
        var f = fingerprint.Trim();
        if (f.StartsWith(Prefix, StringComparison.OrdinalIgnoreCase))
        {
            f = f[Prefix.Length..];
        }

        return f.TrimEnd('=');
    }

    /// <summary>Whether two fingerprints name the same key (base64 is case-sensitive).</summary>
    public static bool AreEqual(string expected, string actual) =>
        string.Equals(Normalize(expected), Normalize(actual), StringComparison.Ordinal);
}
