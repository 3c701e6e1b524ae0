using NxTop.Build.Boot;
using NxTop.Build.Spec;

namespace NxTop.Build.Tests;

public class TemplateRendererTests
{
    private static readonly ApplianceSpec Spec = SpecLoader.Load(Repo.Spec, null).Spec;
    private static readonly CommandLineModel Model = new(Spec, "nxtop-0.1.0", Debug: false, NxTop.Build.Images.DiskLayout.For(Spec.Disk, new string('0', 64)));

    [Fact]
    public void A_known_variable_and_member_render_in_snake_case()
    {
        using var dir = new TempDir();
        dir.Write("ok.sbn", "{{ image_id }} {{ spec.xen.dom0_mem }} {{ spec.dom0.kernel_args | array.join ',' }} {{ debug }}");

        var expected = $"nxtop-0.1.0 {Model.Spec.Xen.Dom0Mem} {string.Join(',', Model.Spec.Dom0.KernelArgs)} false";
        Assert.Equal(expected, new TemplateRenderer(dir.Path).Render("ok.sbn", Model));
    }

    [Fact]
    public void An_unknown_variable_throws_naming_the_template()
    {
        using var dir = new TempDir();
        dir.Write("grub/typo.cfg.sbn", "set default={{ default_entri }}\n");

        var ex = Assert.Throws<TemplateException>(() => new TemplateRenderer(dir.Path).Render("grub/typo.cfg.sbn", Model));

        Assert.Contains("grub/typo.cfg.sbn", ex.Message, StringComparison.Ordinal);
        Assert.Contains("default_entri", ex.Message, StringComparison.Ordinal);
        Assert.IsAssignableFrom<NxTopBuildException>(ex);
    }

    [Theory]
    [InlineData("{{ spec.nope }}", "nope")]
    [InlineData("{{ spec.xen.dom0_memory }}", "dom0_memory")]
    [InlineData("{{ spec.xen.Dom0Mem }}", "Dom0Mem")]
    public void An_unknown_member_throws_naming_the_template(string text, string member)
    {
        using var dir = new TempDir();
        dir.Write("member.sbn", text);

        var ex = Assert.Throws<TemplateException>(() => new TemplateRenderer(dir.Path).Render("member.sbn", Model));

        Assert.Contains("member.sbn", ex.Message, StringComparison.Ordinal);
        Assert.Contains(member, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_template_that_does_not_parse_throws_naming_the_template()
    {
        using var dir = new TempDir();
        dir.Write("broken.sbn", "{{ if debug }}never closed\n");

        var ex = Assert.Throws<TemplateException>(() => new TemplateRenderer(dir.Path).Render("broken.sbn", Model));

        Assert.Contains("broken.sbn", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_missing_template_throws_naming_it_and_the_root()
    {
        using var dir = new TempDir();

        var ex = Assert.Throws<TemplateException>(() => new TemplateRenderer(dir.Path).Render("grub/none.cfg.sbn", Model));

        Assert.Contains("grub/none.cfg.sbn", ex.Message, StringComparison.Ordinal);
        Assert.Contains(dir.Path, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_json_helper_escapes_strings()
    {
        using var dir = new TempDir();
        dir.Write("j.sbn", "{{ json image_id }} {{ json \"a\\\"b\" }}");

        Assert.Equal("\"nxtop-0.1.0\" \"a\\u0022b\"", new TemplateRenderer(dir.Path).Render("j.sbn", Model));
    }

    [Fact]
    public void The_debug_command_lines_drop_quiet_and_add_verbose_logging()
    {
        var c = Rendering.For("none");

        Assert.Contains(" quiet", c.Dom0CommandLine, StringComparison.Ordinal);
        Assert.DoesNotContain("quiet", c.Dom0DebugCommandLine, StringComparison.Ordinal);
        Assert.EndsWith(" debug ignore_loglevel", c.Dom0DebugCommandLine, StringComparison.Ordinal);
        Assert.StartsWith(c.XenCommandLine + " ", c.XenDebugCommandLine, StringComparison.Ordinal);
        Assert.Contains("loglvl=all guest_loglvl=all", c.XenDebugCommandLine, StringComparison.Ordinal);
    }

    [Fact]
    public void Every_authorized_key_gets_its_own_line()
    {
        using var spec = new TempSpec();
        spec.WriteProfile("keys", """{ "ssh": { "authorizedKeys": ["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAISpecSpecSpec spec@key"] } }""");

        var configs = new BootConfigRenderer(new TemplateRenderer(Repo.Templates)).Render(spec.Load("keys"), [Rendering.GoldenKey]);

        Assert.Equal(
            "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAISpecSpecSpec spec@key\n" + Rendering.GoldenKey + "\n",
            configs["ssh/authorized_keys.sbn"].Content);
    }

    [Fact]
    public void A_static_network_renders_its_address_gateway_and_dns()
    {
        using var spec = new TempSpec();
        spec.WriteProfile("static", """{ "network": { "mode": "static", "address": "192.0.2.10/24", "gateway": "192.0.2.1", "dns": ["192.0.2.53", "192.0.2.54"] } }""");

        var bridge = new BootConfigRenderer(new TemplateRenderer(Repo.Templates)).Render(spec.Load("static"), [])["network/bridge.network.sbn"].Content;

        Assert.Contains("[Network]\nAddress=192.0.2.10/24\nGateway=192.0.2.1\nDNS=192.0.2.53\nDNS=192.0.2.54\n", bridge, StringComparison.Ordinal);
        Assert.DoesNotContain("DHCP=", bridge, StringComparison.Ordinal);
    }

    [Fact]
    public void The_agent_config_is_valid_json_with_the_spec_values()
    {
        var json = System.Text.Json.JsonDocument.Parse(Rendering.For("lab")["agent/agent.json.sbn"].Content).RootElement;

        Assert.Equal("http://nxtop-center.lab.invalid:8080/", json.GetProperty("centerUrl").GetString());
        Assert.Equal(60, json.GetProperty("pollIntervalSeconds").GetInt32());
    }
}
