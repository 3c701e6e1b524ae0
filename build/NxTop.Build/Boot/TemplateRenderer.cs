using System.Text.Json;
using Scriban;
using Scriban.Runtime;
using Scriban.Syntax;

namespace NxTop.Build.Boot;

/// <summary>A template could not be parsed or rendered (for example, it names a variable the model lacks).</summary>
public sealed class TemplateException(string message, Exception? inner = null) : NxTopBuildException(message, inner);

/// <summary>
/// Renders Scriban templates from the <c>templates/</c> folder strictly: an unknown variable or member is an error,
/// never an empty string. Model members are exposed in snake_case (<c>Dom0Mem</c> → <c>dom0_mem</c>).
/// </summary>
public sealed class TemplateRenderer(string templateRoot)
{
    private readonly Dictionary<string, Template> _cache = new(StringComparer.Ordinal);

    public string TemplateRoot { get; } = Path.GetFullPath(templateRoot);

    public string Render(string templateName, object model)
    {
        var template = Load(templateName);
        var context = new TemplateContext
        {
            StrictVariables = true,
            EnableRelaxedMemberAccess = false,
            EnableRelaxedTargetAccess = false,
            MemberRenamer = StandardMemberRenamer.Default,
            LoopLimit = 10_000,
        };
        var globals = new ScriptObject();
        globals.Import(model, renamer: StandardMemberRenamer.Default);
        globals.Import("json", new Func<object?, string>(v => JsonSerializer.Serialize(v)));
        context.PushGlobal(globals);
        try
        {
            return template.Render(context);
        }
        catch (ScriptRuntimeException ex)
        {
            throw new TemplateException($"{Relative(templateName)}: {ex.Message}", ex);
        }
    }

    private Template Load(string templateName)
    {
        if (_cache.TryGetValue(templateName, out var cached))
        {
            return cached;
        }

        var path = Path.Combine(TemplateRoot, templateName);
        if (!File.Exists(path))
        {
            throw new TemplateException($"{Relative(templateName)}: template not found under {TemplateRoot}.");
        }

        var template = Template.Parse(File.ReadAllText(path), path);
        if (template.HasErrors)
        {
            throw new TemplateException($"{Relative(templateName)}: {string.Join("; ", template.Messages)}");
        }

        _cache[templateName] = template;
        return template;
    }

    private static string Relative(string templateName) => "templates/" + templateName;
}
