namespace NxTop.Center.Storage;

/// <summary>The event names in a device's history: the agent's history events, and the Center's own.</summary>
public static class DeviceEvents
{
    public const string Enrolled = "enrolled";
    public const string RolledBack = "rolledBack";
    public const string KillRequested = "kill-requested";
    public const string KillDelivered = "kill-delivered";
}
