using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using NxTop.Agent.Lifecycle;
using NxTop.Agent.Storage;
using NxTop.Contracts;

namespace NxTop.Agent.Sync;

/// <summary>The Center answered, but not with success.</summary>
internal sealed class CenterException(HttpStatusCode status, string message) : Exception(message)
{
    public HttpStatusCode Status { get; } = status;
}

/// <summary>The Center answered 410 Gone with a device command: the device was reported lost or stolen.</summary>
internal sealed class DeviceWipeOrderedException(NxTop.Contracts.Center.DeviceCommand command)
    : Exception($"the Center ordered a wipe (command {command.Id}, issued {command.IssuedAt:u})")
{
    public NxTop.Contracts.Center.DeviceCommand Command { get; } = command;
}

/// <summary>The Center's HTTP API (<see cref="ApiRoutes"/>), with the device credential as a Bearer token.</summary>
internal sealed class CenterClient(HttpClient http, Uri centerUrl)
{
    public static readonly TimeSpan RequestTimeout = TimeSpan.FromSeconds(30);

    public Uri Resolve(string pathOrUrl) => new(centerUrl, pathOrUrl);

    public async Task<EnrollmentResponse> EnrollAsync(EnrollmentRequest request, CancellationToken cancellationToken)
    {
        using var message = new HttpRequestMessage(HttpMethod.Post, Resolve(ApiRoutes.Enroll))
        {
            Content = Json(request, ContractsJsonContext.Default.EnrollmentRequest),
        };
        using var response = await SendAsync(message, null, cancellationToken).ConfigureAwait(false);
        return await ReadAsync(response, ContractsJsonContext.Default.EnrollmentResponse, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Null when the Center has no desired state for the device (204).</summary>
    public async Task<DesiredState?> GetDesiredStateAsync(DeviceIdentity identity, CancellationToken cancellationToken)
    {
        using var message = new HttpRequestMessage(HttpMethod.Get, Resolve(ApiRoutes.DesiredState(identity.DeviceId)));
        message.Headers.Authorization = Bearer(identity);
        using var gone = await SendRawAsync(message, cancellationToken).ConfigureAwait(false);
        if (gone.StatusCode == HttpStatusCode.Gone)
        {
            NxTop.Contracts.Center.DeviceCommand? command = null;
            try
            {
                command = await gone.Content.ReadFromJsonAsync(AgentStateJsonContext.Default.DeviceCommand, cancellationToken).ConfigureAwait(false);
            }
            catch (System.Text.Json.JsonException)
            {
            }

            if (command is { Kind: NxTop.Contracts.Center.DeviceCommandKind.Wipe })
            {
                throw new DeviceWipeOrderedException(command);
            }
        }

        var response = EnsureSuccess(message, gone);
        return response.StatusCode == HttpStatusCode.NoContent
            ? null
            : await ReadAsync(response, ContractsJsonContext.Default.DesiredState, cancellationToken).ConfigureAwait(false);
    }

    public async Task PostReportAsync(DeviceIdentity identity, StatusReport report, CancellationToken cancellationToken)
    {
        using var message = new HttpRequestMessage(HttpMethod.Post, Resolve(ApiRoutes.Reports(identity.DeviceId)))
        {
            Content = Json(report, ContractsJsonContext.Default.StatusReport),
        };
        using var response = await SendAsync(message, identity, cancellationToken).ConfigureAwait(false);
    }

    public async Task<SignedManifest> GetManifestAsync(DeviceIdentity? identity, ContentRef content, CancellationToken cancellationToken)
    {
        var url = string.IsNullOrEmpty(content.ManifestUrl) ? ApiRoutes.Manifest(content.Name, content.Version) : content.ManifestUrl;
        using var message = new HttpRequestMessage(HttpMethod.Get, Resolve(url));
        using var response = await SendAsync(message, identity, cancellationToken).ConfigureAwait(false);
        return await ReadAsync(response, ContractsJsonContext.Default.SignedManifest, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// A body with a Content-Length (JsonContent streams it chunked, which simple servers such as a
    /// test content server may not read).
    /// </summary>
    private static ByteArrayContent Json<T>(T value, System.Text.Json.Serialization.Metadata.JsonTypeInfo<T> typeInfo)
    {
        var content = new ByteArrayContent(System.Text.Json.JsonSerializer.SerializeToUtf8Bytes(value, typeInfo));
        content.Headers.ContentType = new MediaTypeHeaderValue(ApiRoutes.JsonMediaType, "utf-8");
        return content;
    }

    public static AuthenticationHeaderValue Bearer(DeviceIdentity identity) => new(ApiRoutes.AuthenticationScheme, identity.Credential);

    private async Task<HttpResponseMessage> SendAsync(HttpRequestMessage message, DeviceIdentity? identity, CancellationToken cancellationToken)
    {
        if (identity is not null)
        {
            message.Headers.Authorization = Bearer(identity);
        }

        return EnsureSuccess(message, await SendRawAsync(message, cancellationToken).ConfigureAwait(false));
    }

    private async Task<HttpResponseMessage> SendRawAsync(HttpRequestMessage message, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(RequestTimeout);
        HttpResponseMessage response;
        try
        {
            response = await http.SendAsync(message, timeout.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException ex) when (!cancellationToken.IsCancellationRequested)
        {
            throw new HttpRequestException($"{message.Method} {message.RequestUri}: no answer within {RequestTimeout.TotalSeconds:0} s", ex);
        }

        return response;
    }

    /// <summary>Hands the response on, or disposes it and throws <see cref="CenterException"/>.</summary>
    private static HttpResponseMessage EnsureSuccess(HttpRequestMessage message, HttpResponseMessage response)
    {
        if (!response.IsSuccessStatusCode)
        {
            var status = response.StatusCode;
            var reason = response.ReasonPhrase;
            response.Dispose();
            throw new CenterException(status, $"{message.Method} {message.RequestUri} answered {(int)status} {reason}");
        }

        return response;
    }

    private static async Task<T> ReadAsync<T>(HttpResponseMessage response, System.Text.Json.Serialization.Metadata.JsonTypeInfo<T> typeInfo, CancellationToken cancellationToken)
    {
        try
        {
            return await response.Content.ReadFromJsonAsync(typeInfo, cancellationToken).ConfigureAwait(false)
                ?? throw new CenterException(response.StatusCode, $"{response.RequestMessage?.RequestUri} answered null");
        }
        catch (System.Text.Json.JsonException ex)
        {
            throw new CenterException(response.StatusCode, $"{response.RequestMessage?.RequestUri} answered JSON the agent cannot read: {ex.Message}");
        }
    }
}

/// <summary>Fetches content from the Center: manifests through <see cref="CenterClient"/>, blobs through the resuming downloader.</summary>
internal sealed class CenterContentFetcher(CenterClient center, BlobDownloader downloader, DisconnectedState disconnected) : IContentFetcher
{
    public Task<SignedManifest> GetManifestAsync(ContentRef content, CancellationToken cancellationToken) =>
        center.GetManifestAsync(disconnected.LoadIdentity(), content, cancellationToken);

    public Task FetchBlobAsync(ManifestBlob blob, CancellationToken cancellationToken)
    {
        downloader.Authorization = disconnected.LoadIdentity() is { } identity ? CenterClient.Bearer(identity) : null;
        return downloader.EnsureBlobAsync(center.Resolve(ApiRoutes.Blob(blob.Sha256)), blob, cancellationToken);
    }
}
