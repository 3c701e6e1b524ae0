using System.Text.Json;
using System.Text.Json.Nodes;
using NxTop.Build.Spec;

namespace NxTop.Build.Tests;

/// <summary>
/// A throw-away copy of the real <c>appliance/appliance.json</c> in a temp folder with a <c>profiles/</c> subfolder,
/// so that a test can break the spec or add a profile without touching the checkout.
/// </summary>
internal sealed class TempSpec : IDisposable
{
    private readonly TempDir _dir = new();

    public TempSpec()
    {
        SpecPath = _dir.File("appliance.json");
        File.Copy(Repo.Spec, SpecPath);
        Directory.CreateDirectory(ProfilesDir);
    }

    public string SpecPath { get; }

    /// <summary>The folder that holds appliance.json and profiles/.</summary>
    public string Dir => _dir.Path;

    public string ProfilesDir => _dir.File("profiles");

    /// <summary>Rewrites appliance.json after <paramref name="edit"/> changes the parsed real spec.</summary>
    public TempSpec EditSpec(Action<JsonObject> edit)
    {
        var root = ReadRealSpec();
        edit(root);
        File.WriteAllText(SpecPath, root.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
        return this;
    }

    public TempSpec WriteSpec(string text)
    {
        File.WriteAllText(SpecPath, text);
        return this;
    }

    /// <summary>Writes profiles/<paramref name="name"/>.json and returns its full path.</summary>
    public string WriteProfile(string name, string json)
    {
        var path = Path.Combine(ProfilesDir, name + ".json");
        File.WriteAllText(path, json);
        return path;
    }

    public LoadedSpec Load(string? profile = null) => SpecLoader.Load(SpecPath, profile);

    public SpecException LoadFails(string? profile = null) => Assert.Throws<SpecException>(() => Load(profile));

    public static JsonObject ReadRealSpec() =>
        JsonNode.Parse(File.ReadAllText(Repo.Spec), documentOptions: new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip })!.AsObject();

    public void Dispose() => _dir.Dispose();
}
