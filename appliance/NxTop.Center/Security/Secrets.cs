using System.Security.Cryptography;
using System.Text;

namespace NxTop.Center.Security;

/// <summary>
/// Bearer secrets: 256 random bits with a prefix that says what they are. Only their SHA-256 is
/// stored; a slow hash would add nothing for a secret with that much entropy.
/// </summary>
public static class Secrets
{
    public const string AdminPrefix = "nxa_";
    public const string DevicePrefix = "nxd_";
    public const string EnrollmentPrefix = "nxe_";

    public static string New(string prefix) => prefix + Base64Url(RandomNumberGenerator.GetBytes(32));

    public static string Hash(string secret) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(secret)));

    /// <summary>A new device id: 128 random bits, hex (also a safe path segment on the device).</summary>
    public static string NewDeviceId() => Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16));

    private static string Base64Url(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');
}
