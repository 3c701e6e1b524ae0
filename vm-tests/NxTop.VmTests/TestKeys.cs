using System.Diagnostics;

namespace NxTop.VmTests;

/// <summary>Throwaway SSH keys made with ssh-keygen.</summary>
internal static class TestKeys
{
    /// <summary>Makes an ed25519 key pair without passphrase at <paramref name="path"/> (+ .pub) and returns the path.</summary>
    public static string Generate(string path)
    {
        var psi = new ProcessStartInfo("ssh-keygen") { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[] { "-q", "-t", "ed25519", "-N", "", "-C", "nxtop-vm-tests", "-f", path })
        {
            psi.ArgumentList.Add(a);
        }

        using var p = Process.Start(psi) ?? throw new InvalidOperationException("ssh-keygen did not start.");
        var stderr = p.StandardError.ReadToEnd();
        p.WaitForExit();
        if (p.ExitCode != 0)
        {
            throw new InvalidOperationException($"ssh-keygen failed ({p.ExitCode}): {stderr}");
        }

        return path;
    }
}
