using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace NxTop.Agent;

[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase,
    RespectNullableAnnotations = true,
    RespectRequiredConstructorParameters = true,
    AllowDuplicateProperties = false,
    DefaultIgnoreCondition = JsonIgnoreCondition.Never)]
[JsonSerializable(typeof(AgentConfig))]
[JsonSerializable(typeof(CenterEnrollment))]
[JsonSerializable(typeof(AgentStatus))]
[JsonSerializable(typeof(ControlError))]
[JsonSerializable(typeof(NxTop.Agent.Lifecycle.QemuImgInfo))]
internal sealed partial class AgentJsonContext : JsonSerializerContext;

internal static class AgentJson
{
    /// <summary>
    /// The context with relaxed escaping, so that replies read as the contract shows them
    /// (<c>'x'</c>, not <c>\u0027x\u0027</c>); nothing here ends up in HTML.
    /// </summary>
    public static AgentJsonContext Context { get; } = new(new JsonSerializerOptions(AgentJsonContext.Default.Options)
    {
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    });
}
