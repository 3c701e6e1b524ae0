using System.Text.Json.Serialization;

namespace NxTop.Contracts.Center;

/// <summary>The Center's admin API and device commands, in the same wire format as <see cref="ContractsJsonContext"/>.</summary>
[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase,
    UseStringEnumConverter = true,
    RespectNullableAnnotations = true,
    RespectRequiredConstructorParameters = true,
    AllowDuplicateProperties = false,
    DefaultIgnoreCondition = JsonIgnoreCondition.Never)]
[JsonSerializable(typeof(DeviceCommand))]
[JsonSerializable(typeof(DeviceCommands))]
[JsonSerializable(typeof(BlobUploaded))]
[JsonSerializable(typeof(PublishRequest))]
[JsonSerializable(typeof(PublishedContent))]
[JsonSerializable(typeof(TrackInfo))]
[JsonSerializable(typeof(IReadOnlyList<TrackInfo>))]
[JsonSerializable(typeof(TrackUpdate))]
[JsonSerializable(typeof(GroupRequest))]
[JsonSerializable(typeof(GroupInfo))]
[JsonSerializable(typeof(IReadOnlyList<GroupInfo>))]
[JsonSerializable(typeof(GroupMembersRequest))]
[JsonSerializable(typeof(GroupMembersResult))]
[JsonSerializable(typeof(AssignmentRequest))]
[JsonSerializable(typeof(AssignmentInfo))]
[JsonSerializable(typeof(EnrollmentTokenRequest))]
[JsonSerializable(typeof(EnrollmentTokensIssued))]
[JsonSerializable(typeof(DeviceSummary))]
[JsonSerializable(typeof(IReadOnlyList<DeviceSummary>))]
[JsonSerializable(typeof(DeviceDetail))]
[JsonSerializable(typeof(FleetOverview))]
[JsonSerializable(typeof(ServerTimings))]
[JsonSerializable(typeof(BlobsCollected))]
[JsonSerializable(typeof(AdminCredentialInfo))]
[JsonSerializable(typeof(IReadOnlyList<AdminCredentialInfo>))]
[JsonSerializable(typeof(AdminCredentialRequest))]
[JsonSerializable(typeof(AdminCredentialIssued))]
public sealed partial class CenterJsonContext : JsonSerializerContext;
