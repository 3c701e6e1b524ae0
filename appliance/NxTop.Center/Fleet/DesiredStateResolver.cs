using System.Globalization;
using System.Text;
using System.Text.Json;
using NxTop.Center.Storage;
using NxTop.Contracts;
using NxTop.Contracts.Center;

namespace NxTop.Center.Fleet;

/// <summary>What a device should run, resolved to exact versions.</summary>
public sealed record ResolvedState(VersionRef Base, IReadOnlyList<VersionRef> Apps, DevicePolicy Policy, long AssignmentUpdatedAt)
{
    public IEnumerable<VersionRef> All => Apps.Prepend(Base);

    /// <summary>Changes whenever anything the device is told changes, including a re-issued assignment.</summary>
    public string Fingerprint()
    {
        var text = new StringBuilder();
        foreach (var item in All)
        {
            text.Append(CultureInfo.InvariantCulture, $"{item.Name}@{item.Version};");
        }

        text.Append(JsonSerializer.Serialize(Policy, ContractsJsonContext.Default.DevicePolicy));
        text.Append(CultureInfo.InvariantCulture, $";{AssignmentUpdatedAt}");
        return text.ToString();
    }
}

/// <summary>
/// Resolves a device's assignment (its own, else its group's) to versions: a pinned version as is,
/// else the name's current version, or its staged version for a device in a pilot group.
/// </summary>
public sealed class DesiredStateResolver(ICenterStore store, TimeProvider time)
{
    public async Task<ResolvedState?> ResolveAsync(DeviceRecord device, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(device);
        var assignment = await store.GetAssignmentAsync(AssignmentTarget.Device, device.Id, cancellationToken).ConfigureAwait(false);
        GroupRing? ring = null;
        if (device.Group is not null)
        {
            ring = await store.GetGroupRingAsync(device.Group, cancellationToken).ConfigureAwait(false);
            assignment ??= await store.GetAssignmentAsync(AssignmentTarget.Group, device.Group, cancellationToken).ConfigureAwait(false);
        }

        if (assignment is null)
        {
            return null;
        }

        var pilot = ring == GroupRing.Pilot;
        var baseVersion = await VersionOfAsync(assignment.BaseName, assignment.BaseVersion, pilot, cancellationToken).ConfigureAwait(false);
        if (baseVersion is null)
        {
            return null;
        }

        var apps = new List<VersionRef>();
        foreach (var app in assignment.Apps)
        {
            if (await VersionOfAsync(app.Name, app.Version, pilot, cancellationToken).ConfigureAwait(false) is { } appVersion)
            {
                apps.Add(appVersion);
            }
        }

        return new ResolvedState(baseVersion, apps, assignment.Policy, assignment.UpdatedAt);
    }

    /// <summary>The desired state as the agent gets it; the generation moves when the resolution changes.</summary>
    public async Task<DesiredState?> DesiredStateAsync(DeviceRecord device, CancellationToken cancellationToken)
    {
        var resolved = await ResolveAsync(device, cancellationToken).ConfigureAwait(false);
        if (resolved is null)
        {
            return null;
        }

        // Most polls find nothing changed: then this is a read-only request.
        var fingerprint = resolved.Fingerprint();
        var generation = fingerprint == device.DesiredFingerprint
            ? device.DesiredGeneration
            : await store.UpdateDesiredAsync(device.Id, fingerprint, cancellationToken).ConfigureAwait(false);
        return ToContract(device.Id, resolved, generation);
    }

    public DesiredState ToContract(string deviceId, ResolvedState resolved, long generation)
    {
        ArgumentNullException.ThrowIfNull(resolved);
        return new DesiredState(
            deviceId,
            Ref(resolved.Base),
            [.. resolved.Apps.Select(Ref)],
            resolved.Policy,
            time.GetUtcNow(),
            generation);

        static ContentRef Ref(VersionRef v) => new(v.Name, v.Version, ApiRoutes.Manifest(v.Name, v.Version));
    }

    private async Task<VersionRef?> VersionOfAsync(string name, long? pinned, bool pilot, CancellationToken cancellationToken)
    {
        if (pinned is { } version)
        {
            return new VersionRef(name, version);
        }

        var track = await store.GetTrackAsync(name, cancellationToken).ConfigureAwait(false);
        var chosen = pilot ? track?.Staged ?? track?.Current : track?.Current;
        return chosen is { } v ? new VersionRef(name, v) : null;
    }
}
