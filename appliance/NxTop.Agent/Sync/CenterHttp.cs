using System.Security.Cryptography.X509Certificates;

namespace NxTop.Agent.Sync;

/// <summary>The HTTP transport to the Center: pooled connections, and optionally a pinned trust anchor for TLS.</summary>
internal static class CenterHttp
{
    /// <param name="caFile">
    /// PEM certificates that alone are trusted for the Center's TLS certificate (a private CA, or the
    /// Center's own self-signed certificate). The chain must end in one of them and the host name must
    /// match; the system's trust store is not consulted. Null: the system's trust store.
    /// </param>
    public static SocketsHttpHandler CreateHandler(string? caFile)
    {
        var handler = new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.FromMinutes(5) };
        if (caFile is not null)
        {
            var anchors = new X509Certificate2Collection();
            anchors.ImportFromPemFile(caFile);
            if (anchors.Count == 0)
            {
                throw new InvalidOperationException($"{caFile} holds no PEM certificate");
            }

            var policy = new X509ChainPolicy
            {
                TrustMode = X509ChainTrustMode.CustomRootTrust,
                RevocationMode = X509RevocationMode.NoCheck,
            };
            policy.CustomTrustStore.AddRange(anchors);
            handler.SslOptions.CertificateChainPolicy = policy;
        }

        return handler;
    }
}
