using System.Text.Json;
using System.Text.Json.Serialization.Metadata;

namespace NxTop.Center.Endpoints;

/// <summary>
/// Reads a JSON body with the contract's own serializer context, so that a malformed body (bad
/// JSON, a missing required member, a wrong type, a null where none is allowed) becomes a 400 with
/// the reason, never a 500.
/// </summary>
internal static class JsonBody
{
    public const int MaxBytes = 1 << 20;

    public static async Task<(T? Value, IResult? Problem)> ReadAsync<T>(HttpRequest request, JsonTypeInfo<T> typeInfo)
        where T : class
    {
        if (request.ContentLength is > MaxBytes)
        {
            return (null, Problems.BadRequest($"the body is larger than {MaxBytes} bytes"));
        }

        try
        {
            var value = await JsonSerializer.DeserializeAsync(request.Body, typeInfo, request.HttpContext.RequestAborted).ConfigureAwait(false);
            return value is null ? (null, Problems.BadRequest("the body is empty or null")) : (value, null);
        }
        catch (JsonException ex)
        {
            return (null, Problems.BadRequest($"malformed JSON body: {ex.Message}"));
        }
        catch (NotSupportedException ex)
        {
            return (null, Problems.BadRequest($"unsupported JSON body: {ex.Message}"));
        }
    }
}

internal static class Problems
{
    public static IResult BadRequest(string reason) => Results.Problem(detail: reason, statusCode: StatusCodes.Status400BadRequest, title: "Bad request");

    public static IResult NotFound(string reason) => Results.Problem(detail: reason, statusCode: StatusCodes.Status404NotFound, title: "Not found");

    public static IResult Conflict(string reason) => Results.Problem(detail: reason, statusCode: StatusCodes.Status409Conflict, title: "Conflict");

    public static IResult Forbidden(string reason) => Results.Problem(detail: reason, statusCode: StatusCodes.Status403Forbidden, title: "Forbidden");
}
