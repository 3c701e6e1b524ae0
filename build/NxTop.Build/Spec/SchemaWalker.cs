using System.Reflection;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace NxTop.Build.Spec;

/// <summary>
/// Checks a JSON tree against the spec records before deserialization, so that an unknown field, a wrong type or a
/// missing field is reported with its JSON path, the file it came from, and what was expected.
/// The records' primary constructors are the schema: a parameter is a field, camelCased.
/// </summary>
internal static class SchemaWalker
{
    public static void Walk(JsonNode? node, Type type, string path, Func<string, string> originOf, List<SpecProblem> problems, bool nullable = false)
    {
        var underlying = Nullable.GetUnderlyingType(type);
        if (node is null)
        {
            if (underlying is null && !nullable)
            {
                problems.Add(new(originOf(path), path, $"is null; expected {Describe(type)}."));
            }

            return;
        }

        type = underlying ?? type;
        if (type == typeof(string))
        {
            Expect(node, JsonValueKind.String, path, originOf, problems, "a string");
        }
        else if (type == typeof(int))
        {
            if (node is not JsonValue v || v.GetValueKind() != JsonValueKind.Number || !v.TryGetValue<int>(out _))
            {
                problems.Add(new(originOf(path), path, $"got {Show(node)}; expected a whole number."));
            }
        }
        else if (type == typeof(bool))
        {
            var kind = node.GetValueKind();
            if (kind is not (JsonValueKind.True or JsonValueKind.False))
            {
                problems.Add(new(originOf(path), path, $"got {Show(node)}; expected true or false."));
            }
        }
        else if (type.IsEnum)
        {
            var names = EnumNames(type);
            if (node.GetValueKind() != JsonValueKind.String || !names.Contains(node.GetValue<string>(), StringComparer.Ordinal))
            {
                problems.Add(new(originOf(path), path, $"got {Show(node)}; expected one of {string.Join(", ", names.Select(n => $"\"{n}\""))}."));
            }
        }
        else if (type.IsGenericType && type.GetGenericTypeDefinition() == typeof(IReadOnlyList<>))
        {
            if (node is not JsonArray array)
            {
                problems.Add(new(originOf(path), path, $"got {Show(node)}; expected a list ([...]) of {Describe(type.GetGenericArguments()[0])}."));
                return;
            }

            for (var i = 0; i < array.Count; i++)
            {
                Walk(array[i], type.GetGenericArguments()[0], $"{path}[{i}]", originOf, problems);
            }
        }
        else
        {
            WalkRecord(node, type, path, originOf, problems);
        }
    }

    private static void WalkRecord(JsonNode node, Type type, string path, Func<string, string> originOf, List<SpecProblem> problems)
    {
        if (node is not JsonObject obj)
        {
            problems.Add(new(originOf(path), path, $"got {Show(node)}; expected an object with fields {string.Join(", ", Fields(type).Select(f => f.Name))}."));
            return;
        }

        var fields = Fields(type);
        foreach (var (key, value) in obj)
        {
            var field = fields.FirstOrDefault(f => f.Name == key);
            var childPath = $"{path}.{key}";
            if (field is null)
            {
                var near = fields.FirstOrDefault(f => string.Equals(f.Name, key, StringComparison.OrdinalIgnoreCase));
                var hint = near is null ? "" : $" Did you mean \"{near.Name}\"?";
                problems.Add(new(originOf(childPath), childPath, $"unknown field \"{key}\".{hint} Expected one of: {string.Join(", ", fields.Select(f => f.Name))}."));
                continue;
            }

            Walk(value, field.Type, childPath, originOf, problems, field.Optional);
        }

        // A nullable field may be null, but it must still be there (appliance/README.md: every field is required),
        // as the deserializer (RespectRequiredConstructorParameters) insists too.
        foreach (var field in fields.Where(f => !obj.ContainsKey(f.Name)))
        {
            problems.Add(new(originOf(path), $"{path}.{field.Name}", $"is missing; expected {Describe(field.Type)}{(field.Optional ? " or null" : "")}."));
        }
    }

    internal sealed record Field(string Name, Type Type, bool Optional);

    internal static IReadOnlyList<Field> Fields(Type record)
    {
        var ctor = record.GetConstructors().OrderByDescending(c => c.GetParameters().Length).First();
        var nullability = new NullabilityInfoContext();
        return ctor.GetParameters()
            .Select(p => new Field(
                JsonNamingPolicy.CamelCase.ConvertName(p.Name!),
                p.ParameterType,
                Nullable.GetUnderlyingType(p.ParameterType) is not null || nullability.Create(p).WriteState == NullabilityState.Nullable))
            .ToList();
    }

    internal static IReadOnlyList<string> EnumNames(Type enumType) =>
        Enum.GetNames(enumType).Select(JsonNamingPolicy.CamelCase.ConvertName).ToList();

    private static void Expect(JsonNode node, JsonValueKind kind, string path, Func<string, string> originOf, List<SpecProblem> problems, string what)
    {
        if (node.GetValueKind() != kind)
        {
            problems.Add(new(originOf(path), path, $"got {Show(node)}; expected {what}."));
        }
    }

    private static string Describe(Type type)
    {
        type = Nullable.GetUnderlyingType(type) ?? type;
        if (type == typeof(string))
        {
            return "a string";
        }

        if (type == typeof(int))
        {
            return "a whole number";
        }

        if (type == typeof(bool))
        {
            return "true or false";
        }

        if (type.IsEnum)
        {
            return "one of " + string.Join(", ", EnumNames(type).Select(n => $"\"{n}\""));
        }

        if (type.IsGenericType)
        {
            return "a list of " + Describe(type.GetGenericArguments()[0]);
        }

        return "an object with fields " + string.Join(", ", Fields(type).Select(f => f.Name));
    }

    internal static string Show(JsonNode? node)
    {
        if (node is null)
        {
            return "null";
        }

        var text = node.ToJsonString();
        var kind = node.GetValueKind() switch
        {
            JsonValueKind.String => "string",
            JsonValueKind.Number => "number",
            JsonValueKind.Array => "list",
            JsonValueKind.Object => "object",
            _ => "value",
        };
        return $"{kind} {(text.Length > 60 ? text[..57] + "..." : text)}";
    }
}
