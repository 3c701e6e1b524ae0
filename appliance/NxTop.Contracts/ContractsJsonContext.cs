using System.Text.Json.Serialization;

namespace NxTop.Contracts;

/// <summary>
/// The wire format: camelCase members, enums as their camelCase names, nulls written out, and
/// constructor parameters required. Unknown members are ignored (a newer Center may add fields),
/// except in <see cref="ContentManifest"/>, which is signed and strict.
/// </summary>
[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase,
    UseStringEnumConverter = true,
    RespectNullableAnnotations = true,
    RespectRequiredConstructorParameters = true,
    AllowDuplicateProperties = false,
    DefaultIgnoreCondition = JsonIgnoreCondition.Never)]
[JsonSerializable(typeof(ContentManifest))]
[JsonSerializable(typeof(SignedManifest))]
[JsonSerializable(typeof(EnrollmentRequest))]
[JsonSerializable(typeof(EnrollmentResponse))]
[JsonSerializable(typeof(DesiredState))]
[JsonSerializable(typeof(StatusReport))]
[JsonSerializable(typeof(HistoryEntry))]
[JsonSerializable(typeof(HardwareInventory))]
public sealed partial class ContractsJsonContext : JsonSerializerContext;
