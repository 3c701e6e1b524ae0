using System.Text.Json.Serialization;

namespace NxTop.Contracts.Center;

public enum DeviceCommandKind
{
    /// <summary>The device is lost or stolen: wipe all local content (blobs, differencing disks, credential) now.</summary>
    [JsonStringEnumMemberName("wipe")] Wipe,
}

/// <summary>
/// An order the Center delivers at the device's next contact. A device with a pending wipe gets
/// 410 Gone with this body from <see cref="ApiRoutes.DesiredStateTemplate"/>, and the command from
/// <see cref="CenterRoutes.CommandsTemplate"/>.
/// </summary>
public sealed record DeviceCommand(string Id, DeviceCommandKind Kind, DateTimeOffset IssuedAt);

/// <summary>GET <see cref="CenterRoutes.CommandsTemplate"/> → 200 with the pending commands (possibly none).</summary>
public sealed record DeviceCommands(IReadOnlyList<DeviceCommand> Commands);
