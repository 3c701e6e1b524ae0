namespace NxTop.Build.Cli;

/// <summary>--name value options; a name may repeat. "--flag" with no value is a switch.</summary>
public sealed class CliOptions
{
    private readonly List<(string Name, string? Value)> _items = [];

    public static CliOptions Parse(string[] args)
    {
        var o = new CliOptions();
        for (var i = 0; i < args.Length; i++)
        {
            if (!args[i].StartsWith("--", StringComparison.Ordinal))
            {
                throw new NxTopBuildException($"Unexpected argument '{args[i]}'; options look like --name value.");
            }

            var name = args[i][2..];
            string? value = null;
            var eq = name.IndexOf('=', StringComparison.Ordinal);
            if (eq >= 0)
            {
                value = name[(eq + 1)..];
                name = name[..eq];
            }
            else if (i + 1 < args.Length && !args[i + 1].StartsWith("--", StringComparison.Ordinal))
            {
                value = args[++i];
            }

            o._items.Add((name, value));
        }

        return o;
    }

    public string? Get(string name) => _items.LastOrDefault(i => i.Name == name).Value;

    public bool Has(string name) => _items.Any(i => i.Name == name);

    public IReadOnlyList<string> All(string name) => _items.Where(i => i.Name == name && i.Value is not null).Select(i => i.Value!).ToList();

    public string Required(string name) => Get(name) ?? throw new NxTopBuildException($"--{name} is required.");

    public string Repo => Get("repo") ?? Workspace.FindRepoRoot(Directory.GetCurrentDirectory());

    public string Spec => Get("spec") ?? Path.Combine(Repo, "appliance", "appliance.json");

    public string? Profile => Get("profile") is { Length: > 0 } p ? p : null;
}
