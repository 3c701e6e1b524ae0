using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;

namespace NxTop.Build.Spec;

/// <summary>A validated spec, the files it was merged from, and its hash (of the canonical merged JSON).</summary>
public sealed record LoadedSpec(ApplianceSpec Spec, string Profile, IReadOnlyList<string> SourceFiles, string CanonicalJson, string Sha256);

/// <summary>
/// Loads <c>appliance.json</c>, merges a profile drop-in from <c>profiles/&lt;name&gt;.json</c> over it
/// (objects merge field by field, lists and values replace), then checks the result strictly:
/// structure first (unknown fields, types, missing fields), then values. Every problem names its file and JSON path.
/// </summary>
public static class SpecLoader
{
    public const string NoProfile = "none";

    public static readonly JsonSerializerOptions JsonOptions = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
        RespectNullableAnnotations = true,
        RespectRequiredConstructorParameters = true,
        ReadCommentHandling = JsonCommentHandling.Skip,
        WriteIndented = true,
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.CamelCase, allowIntegerValues: false) },
    };

    public static LoadedSpec Load(string specPath, string? profile)
    {
        var specFile = Path.GetFullPath(specPath);
        if (!File.Exists(specFile))
        {
            throw new SpecException(specPath, "$", $"the spec file does not exist (looked for {specFile}).");
        }

        specPath = Relative(specFile);
        var origins = new Dictionary<string, string>(StringComparer.Ordinal);
        var files = new List<string> { specPath };
        var merged = ParseObject(specPath, specFile);
        Record(merged, "$", specPath, origins);

        var profileName = string.IsNullOrEmpty(profile) ? NoProfile : profile;
        if (profileName != NoProfile)
        {
            var profileDir = Path.Combine(Path.GetDirectoryName(specFile)!, "profiles");
            var profileFile = Path.Combine(profileDir, profileName + ".json");
            if (!File.Exists(profileFile))
            {
                var known = Directory.Exists(profileDir)
                    ? Directory.GetFiles(profileDir, "*.json").Select(Path.GetFileNameWithoutExtension).Order(StringComparer.Ordinal).ToList()
                    : [];
                throw new SpecException(
                    Relative(profileFile),
                    "$",
                    $"profile \"{profileName}\" does not exist. Known profiles: {(known.Count == 0 ? "(none)" : string.Join(", ", known))}. Pass one of them with --profile, or add {Relative(profileFile)}.");
            }

            var rel = Relative(profileFile);
            files.Add(rel);
            var dropIn = ParseObject(rel, profileFile);
            MergeInto(merged, dropIn, "$", rel, origins);
        }

        string OriginOf(string path)
        {
            for (var p = path; ; p = Parent(p))
            {
                if (origins.TryGetValue(p, out var f))
                {
                    return f;
                }

                if (p == "$")
                {
                    return specPath;
                }
            }
        }

        var problems = new List<SpecProblem>();
        SchemaWalker.Walk(merged, typeof(ApplianceSpec), "$", OriginOf, problems);
        if (problems.Count > 0)
        {
            throw new SpecException(problems);
        }

        ApplianceSpec spec;
        try
        {
            spec = merged.Deserialize<ApplianceSpec>(JsonOptions)
                ?? throw new SpecException(specPath, "$", "is null; expected an object.");
        }
        catch (JsonException ex)
        {
            // The schema walk should have caught this; keep the path if it did not.
            var path = ex.Path ?? "$";
            throw new SpecException(OriginOf(path), path, ex.Message);
        }

        problems.AddRange(SpecValidator.Validate(spec).Select(p => p with { File = OriginOf(p.Path) }));
        if (problems.Count > 0)
        {
            throw new SpecException(problems);
        }

        var canonical = JsonSerializer.Serialize(spec, JsonOptions);
        var sha = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(canonical)));
        return new LoadedSpec(spec, profileName, files, canonical, sha);
    }

    private static JsonObject ParseObject(string displayName, string? fullPath = null)
    {
        string text;
        try
        {
            text = File.ReadAllText(fullPath ?? displayName);
        }
        catch (IOException ex)
        {
            throw new SpecException(displayName, "$", $"cannot be read: {ex.Message}");
        }

        JsonNode? node;
        try
        {
            // Duplicate keys are an error here; otherwise JsonObject throws an ArgumentException later, on first use.
            node = JsonNode.Parse(text, documentOptions: new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip, AllowDuplicateProperties = false });
        }
        catch (JsonException ex)
        {
            var where = ex.LineNumber is { } line ? $" (line {line + 1}, byte {ex.BytePositionInLine + 1})" : "";
            throw new SpecException(displayName, ex.Path ?? "$", $"is not valid JSON{where}: {ex.Message.Split(" LineNumber", 2)[0]}");
        }

        return node as JsonObject ?? throw new SpecException(displayName, "$", $"got {SchemaWalker.Show(node)}; expected a JSON object {{ ... }}.");
    }

    private static void Record(JsonNode? node, string path, string file, Dictionary<string, string> origins)
    {
        origins[path] = file;
        if (node is JsonObject obj)
        {
            foreach (var (k, v) in obj)
            {
                Record(v, $"{path}.{k}", file, origins);
            }
        }
    }

    private static void MergeInto(JsonObject target, JsonObject dropIn, string path, string file, Dictionary<string, string> origins)
    {
        foreach (var (key, value) in dropIn.ToList())
        {
            var childPath = $"{path}.{key}";
            if (value is JsonObject obj && target[key] is JsonObject existing)
            {
                MergeInto(existing, obj, childPath, file, origins);
                continue;
            }

            foreach (var stale in origins.Keys.Where(k => k.StartsWith(childPath + ".", StringComparison.Ordinal) || k.StartsWith(childPath + "[", StringComparison.Ordinal)).ToList())
            {
                origins.Remove(stale);
            }

            target[key] = value?.DeepClone();
            Record(target[key], childPath, file, origins);
        }
    }

    private static string Parent(string path)
    {
        var cut = Math.Max(path.LastIndexOf('.'), path.LastIndexOf('['));
        return cut <= 0 ? "$" : path[..cut];
    }

    private static string Relative(string path)
    {
        var rel = Path.GetRelativePath(Directory.GetCurrentDirectory(), path);
        return rel.StartsWith("..", StringComparison.Ordinal) ? path : rel;
    }
}
