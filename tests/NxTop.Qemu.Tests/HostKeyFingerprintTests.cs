using System.Diagnostics;

namespace NxTop.Qemu.Tests;

public class HostKeyFingerprintTests
{
    // A fixed ed25519 public key and the fingerprint `ssh-keygen -lf` printed for it.
    private const string KnownKey = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAICRocrKQDs69s841YPR+WU0J1C5YwXggGGrBkeQEY29f test@nxtop";
    private const string KnownKeyFingerprint = "6r6kaVh7N4kwowPe1wpDAXL9uKBl+XI5bqijnbnbV1I";

    [Fact]
    public void Fingerprint_of_a_known_key_matches_ssh_keygen()
    {
        Assert.Equal(KnownKeyFingerprint, HostKeyFingerprint.FromPublicKeyLine(KnownKey));
    }

    [Fact]
    public void Fingerprint_has_no_padding_and_no_prefix()
    {
        var fp = HostKeyFingerprint.FromPublicKeyLine(KnownKey);

        Assert.DoesNotContain("=", fp, StringComparison.Ordinal);
        Assert.False(fp.StartsWith("SHA256:", StringComparison.Ordinal));
        Assert.Equal(43, fp.Length); // 32 bytes in unpadded base64
    }

    [Fact]
    public void Options_before_the_key_type_and_a_missing_comment_are_fine()
    {
        var bare = string.Join(' ', KnownKey.Split(' ').Take(2));

        Assert.Equal(KnownKeyFingerprint, HostKeyFingerprint.FromPublicKeyLine(bare));
        Assert.Equal(KnownKeyFingerprint, HostKeyFingerprint.FromPublicKeyLine("no-pty,from=\"10.0.2.2\" " + KnownKey));
    }

    [Theory]
    [InlineData("")]
    [InlineData("not a key")]
    [InlineData("ssh-ed25519")]
    [InlineData("ssh-ed25519 !!!notbase64!!!")]
    public void Garbage_is_a_format_error(string line)
    {
        Assert.Throws<FormatException>(() => HostKeyFingerprint.FromPublicKeyLine(line));
    }

    [Theory]
    [InlineData("SHA256:abc", "abc")]
    [InlineData("sha256:abc=", "abc")]
    [InlineData("  abc  ", "abc")]
    public void Normalize_drops_prefix_padding_and_blanks(string input, string expected)
    {
        Assert.Equal(expected, HostKeyFingerprint.Normalize(input));
    }

    [Fact]
    public void Comparison_is_case_sensitive_because_base64_is()
    {
        Assert.True(HostKeyFingerprint.AreEqual("SHA256:AbC", "AbC"));
        Assert.False(HostKeyFingerprint.AreEqual("SHA256:AbC", "abc"));
    }

    [Fact]
    public void Fingerprint_of_a_fresh_key_matches_ssh_keygen_lf()
    {
        var dir = Directory.CreateTempSubdirectory("nxtop-fp-");
        try
        {
            var key = Path.Combine(dir.FullName, "id_ed25519");
            Run("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "nxtop-test", "-f", key);

            // "256 SHA256:<fingerprint> nxtop-test (ED25519)"
            var listed = Run("ssh-keygen", "-lf", key + ".pub").Split(' ');
            Assert.Equal(listed[1], "SHA256:" + HostKeyFingerprint.FromPublicKeyFile(key + ".pub"));
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    private static string Run(string file, params string[] args)
    {
        var psi = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }

        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEnd();
        var stderr = p.StandardError.ReadToEnd();
        p.WaitForExit();
        Assert.True(p.ExitCode == 0, $"{file} {string.Join(' ', args)} failed ({p.ExitCode}): {stderr}");
        return stdout.Trim();
    }
}
