using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using NxTop.Build.Spec;

namespace NxTop.Build.Tests;

public class SpecLoaderTests
{
    [Theory]
    [InlineData(null)]
    [InlineData("release")]
    [InlineData("lab")]
    [InlineData("debug")]
    public void The_real_spec_loads_alone_and_with_each_real_profile(string? profile)
    {
        var loaded = SpecLoader.Load(Repo.Spec, profile);

        Assert.Equal(profile ?? SpecLoader.NoProfile, loaded.Profile);
        Assert.Equal(Repo.Spec, Path.GetFullPath(loaded.SourceFiles[0]));
        if (profile is null)
        {
            Assert.Single(loaded.SourceFiles);
        }
        else
        {
            Assert.Equal(2, loaded.SourceFiles.Count);
            Assert.Equal(Path.Combine(Repo.Profiles, profile + ".json"), Path.GetFullPath(loaded.SourceFiles[1]));
        }
    }

    [Theory]
    [InlineData("release")]
    [InlineData("lab")]
    [InlineData("debug")]
    public void A_real_profile_changes_exactly_what_it_lists(string profile)
    {
        // Expected: the spec with the profile merged by hand (objects field by field, anything else replaced).
        var expected = TempSpec.ReadRealSpec();
        var dropIn = JsonNode.Parse(File.ReadAllText(Path.Combine(Repo.Profiles, profile + ".json")), documentOptions: new() { CommentHandling = System.Text.Json.JsonCommentHandling.Skip })!.AsObject();
        Merge(expected, dropIn);

        var loaded = SpecLoader.Load(Repo.Spec, profile);

        var actual = JsonNode.Parse(loaded.CanonicalJson)!.AsObject();
        // The canonical JSON also carries the derived ImageId; it is not a spec field.
        Assert.Equal($"{expected["name"]}-{expected["version"]}", (string?)actual["imageId"]);
        actual.Remove("imageId");
        Assert.True(JsonNode.DeepEquals(expected, actual), $"merged spec differs:\nexpected {expected.ToJsonString()}\nactual   {actual.ToJsonString()}");
        Assert.NotEqual(SpecLoader.Load(Repo.Spec, null).Sha256, loaded.Sha256);

        static void Merge(JsonObject target, JsonObject dropIn)
        {
            foreach (var (key, value) in dropIn.ToList())
            {
                if (value is JsonObject o && target[key] is JsonObject t)
                {
                    Merge(t, o);
                }
                else
                {
                    target[key] = value?.DeepClone();
                }
            }
        }
    }

    [Fact]
    public void A_profile_merges_objects_field_by_field()
    {
        using var spec = new TempSpec();
        spec.WriteProfile("big", """{ "xen": { "dom0Mem": "4G" }, "boot": { "defaultEntry": "debug" } }""");

        var s = spec.Load("big").Spec;

        Assert.Equal("4G", s.Xen.Dom0Mem);
        Assert.Equal(1, s.Xen.Dom0MaxVcpus);
        Assert.Equal("com1,vga", s.Xen.Console);
        Assert.Equal("115200,8n1", s.Xen.Com1);
        Assert.Equal(BootEntry.Debug, s.Boot.DefaultEntry);
        Assert.Equal(3, s.Boot.TimeoutSeconds);
    }

    [Fact]
    public void A_profile_replaces_lists_and_values_rather_than_appending()
    {
        using var spec = new TempSpec();
        spec.WriteProfile("lean", """{ "version": "2.0.0-rc1", "debian": { "packages": ["htop"] }, "dom0": { "kernelArgs": [] } }""");

        var s = spec.Load("lean").Spec;

        Assert.Equal("2.0.0-rc1", s.Version);
        Assert.Equal(["htop"], s.Debian.Packages);
        Assert.Empty(s.Dom0.KernelArgs);
        Assert.Equal(["main"], s.Debian.Components);
    }

    [Fact]
    public void A_profile_can_replace_a_whole_object_by_a_non_object_and_is_then_blamed_for_it()
    {
        using var spec = new TempSpec();
        var profile = spec.WriteProfile("flat", """{ "boot": "fast" }""");

        var ex = spec.LoadFails("flat");

        SpecAssert.Problem(ex, profile, "$.boot", "got string \"fast\"", "expected an object with fields timeoutSeconds, defaultEntry");
    }

    [Fact]
    public void A_missing_profile_names_its_file_and_lists_the_known_profiles()
    {
        using var spec = new TempSpec();
        spec.WriteProfile("beta", "{}");
        spec.WriteProfile("alpha", "{}");

        var ex = spec.LoadFails("nope");

        var p = SpecAssert.Problem(ex, Path.Combine(spec.ProfilesDir, "nope.json"), "$", "profile \"nope\" does not exist", "Known profiles: alpha, beta.");
        Assert.Contains("--profile", p.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_missing_profile_with_no_profiles_folder_says_there_are_none()
    {
        using var spec = new TempSpec();
        Directory.Delete(spec.ProfilesDir);

        var ex = spec.LoadFails("lab");

        SpecAssert.Problem(ex, Path.Combine(spec.ProfilesDir, "lab.json"), "$", "Known profiles: (none)");
    }

    [Fact]
    public void The_real_profiles_are_listed_when_a_profile_is_missing()
    {
        var ex = Assert.Throws<SpecException>(() => SpecLoader.Load(Repo.Spec, "prod"));

        Assert.Contains("Known profiles: debug, installer, lab, release, vmtest.", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_missing_spec_file_is_named()
    {
        using var dir = new TempDir();
        var missing = dir.File("appliance.json");

        var ex = Assert.Throws<SpecException>(() => SpecLoader.Load(missing, null));

        Assert.Contains("does not exist", ex.Message, StringComparison.Ordinal);
        Assert.Contains(missing, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void An_unknown_field_in_a_profile_names_the_profile_the_path_and_the_allowed_fields()
    {
        using var spec = new TempSpec();
        var profile = spec.WriteProfile("typo", """{ "xen": { "dom0Memory": "2G" } }""");

        var ex = spec.LoadFails("typo");

        SpecAssert.Problem(ex, profile, "$.xen.dom0Memory", "unknown field \"dom0Memory\"", "Expected one of: dom0Mem, dom0MaxVcpus, console, com1, extraArgs.");
    }

    [Fact]
    public void An_unknown_field_that_differs_only_in_case_gets_a_did_you_mean()
    {
        using var spec = new TempSpec();
        spec.EditSpec(root => root["xen"]!["DOM0MEM"] = "2G");

        var ex = spec.LoadFails();

        SpecAssert.Problem(ex, spec.SpecPath, "$.xen.DOM0MEM", "Did you mean \"dom0Mem\"?");
    }

    [Fact]
    public void An_unknown_top_level_field_in_the_spec_names_the_spec_file()
    {
        using var spec = new TempSpec();
        spec.EditSpec(root => root["flavour"] = "vanilla");

        var ex = spec.LoadFails();

        SpecAssert.Problem(ex, spec.SpecPath, "$.flavour", "unknown field \"flavour\"", "name, version, debian, xen, dom0, network, ssh, agent, boot, pxe, disk, install, image");
    }

    [Theory]
    [InlineData("""{ "xen": { "dom0MaxVcpus": "2" } }""", "$.xen.dom0MaxVcpus", "got string \"2\"; expected a whole number.")]
    [InlineData("""{ "xen": { "dom0MaxVcpus": 1.5 } }""", "$.xen.dom0MaxVcpus", "got number 1.5; expected a whole number.")]
    [InlineData("""{ "xen": { "dom0MaxVcpus": 3000000000 } }""", "$.xen.dom0MaxVcpus", "expected a whole number.")]
    [InlineData("""{ "xen": { "dom0Mem": 1024 } }""", "$.xen.dom0Mem", "got number 1024; expected a string.")]
    [InlineData("""{ "debian": { "packages": { "htop": true } } }""", "$.debian.packages", "got object {\"htop\":true}; expected a list ([...]) of a string.")]
    [InlineData("""{ "debian": { "packages": "htop" } }""", "$.debian.packages", "expected a list ([...])")]
    [InlineData("""{ "debian": { "packages": ["htop", 5] } }""", "$.debian.packages[1]", "got number 5; expected a string.")]
    [InlineData("""{ "ssh": { "generateClientKey": "yes" } }""", "$.ssh.generateClientKey", "expected true or false.")]
    [InlineData("""{ "network": { "mode": "Static" } }""", "$.network.mode", "expected one of \"dhcp\", \"static\".")]
    [InlineData("""{ "network": { "mode": 1 } }""", "$.network.mode", "got number 1; expected one of \"dhcp\", \"static\".")]
    [InlineData("""{ "image": { "formats": ["floppy"] } }""", "$.image.formats[0]", "expected one of \"iso\", \"pxe\", \"disk\".")]
    [InlineData("""{ "install": { "after": "halt" } }""", "$.install.after", "expected one of \"poweroff\", \"reboot\", \"none\".")]
    [InlineData("""{ "disk": { "slotMiB": "320" } }""", "$.disk.slotMiB", "got string \"320\"; expected a whole number.")]
    [InlineData("""{ "boot": [] }""", "$.boot", "got list []; expected an object with fields timeoutSeconds, defaultEntry.")]
    [InlineData("""{ "name": null }""", "$.name", "is null; expected a string.")]
    [InlineData("""{ "agent": null }""", "$.agent", "is null; expected an object with fields centerUrl, pollIntervalSeconds, enrollmentToken, publisherKeys, guestMemoryMiB.")]
    public void A_wrong_type_in_a_profile_is_reported_with_the_profile_path_and_expectation(string dropIn, string path, string message)
    {
        using var spec = new TempSpec();
        var profile = spec.WriteProfile("p", dropIn);

        var ex = spec.LoadFails("p");

        SpecAssert.Problem(ex, profile, path, message);
    }

    [Fact]
    public void An_invalid_value_from_a_profile_names_the_profile_file_the_path_and_what_was_expected()
    {
        using var spec = new TempSpec();
        var profile = spec.WriteProfile("greedy", """{ "xen": { "dom0Mem": "lots" } }""");

        var ex = spec.LoadFails("greedy");

        var p = SpecAssert.Problem(ex, profile, "$.xen.dom0Mem", "got \"lots\"", "expected a memory size such as \"1024M\" or \"2G\", at least 256M.");
        Assert.Single(ex.Problems);
        Assert.DoesNotContain("appliance.json", p.File, StringComparison.Ordinal);
    }

    [Fact]
    public void An_invalid_value_in_the_spec_is_blamed_on_the_spec_even_when_a_profile_is_used()
    {
        using var spec = new TempSpec();
        spec.EditSpec(root => root["dom0"]!["hostname"] = "-bad-");
        spec.WriteProfile("other", """{ "xen": { "dom0Mem": "2G" } }""");

        var ex = spec.LoadFails("other");

        SpecAssert.Problem(ex, spec.SpecPath, "$.dom0.hostname", "got \"-bad-\"");
    }

    [Fact]
    public void A_list_item_replaced_by_a_profile_is_blamed_on_the_profile()
    {
        using var spec = new TempSpec();
        var profile = spec.WriteProfile("pk", """{ "debian": { "packages": ["ok", "Not_A_Package"] } }""");

        var ex = spec.LoadFails("pk");

        SpecAssert.Problem(ex, profile, "$.debian.packages[1]", "got \"Not_A_Package\"; expected a Debian package name");
    }

    [Fact]
    public void A_missing_field_is_reported_with_its_path_and_type()
    {
        using var spec = new TempSpec();
        spec.EditSpec(root => root["xen"]!.AsObject().Remove("com1"));

        var ex = spec.LoadFails();

        SpecAssert.Problem(ex, spec.SpecPath, "$.xen.com1", "is missing; expected a string.");
    }

    [Fact]
    public void A_missing_nullable_field_is_reported_like_any_other_missing_field()
    {
        // appliance/README.md: every field is required; address and gateway are null for dhcp.
        using var spec = new TempSpec();
        spec.EditSpec(root => root["network"]!.AsObject().Remove("gateway"));

        var ex = spec.LoadFails();

        SpecAssert.Problem(ex, spec.SpecPath, "$.network.gateway", "is missing; expected a string or null.");
    }

    [Fact]
    public void Invalid_json_in_a_profile_names_the_profile_and_the_line()
    {
        using var spec = new TempSpec();
        var profile = spec.WriteProfile("broken", "{\n  \"xen\": {\n    \"dom0Mem\" \"2G\"\n  }\n}\n");

        var ex = spec.LoadFails("broken");

        var p = Assert.Single(ex.Problems);
        Assert.Equal(profile, Path.GetFullPath(p.File));
        Assert.Contains("is not valid JSON (line 3,", p.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_trailing_comma_in_the_spec_is_invalid_json()
    {
        using var spec = new TempSpec();
        spec.WriteSpec("""{ "name": "nxtop", }""");

        var ex = spec.LoadFails();

        Assert.Contains("is not valid JSON", Assert.Single(ex.Problems).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_profile_that_is_not_an_object_is_rejected()
    {
        using var spec = new TempSpec();
        var profile = spec.WriteProfile("list", """["xen"]""");

        var ex = spec.LoadFails("list");

        SpecAssert.Problem(ex, profile, "$", "expected a JSON object");
    }

    [Fact]
    public void Duplicate_keys_are_reported_as_a_spec_problem()
    {
        using var spec = new TempSpec();
        var profile = spec.WriteProfile("dup", """{ "boot": { "timeoutSeconds": 1, "timeoutSeconds": 2 } }""");

        var ex = spec.LoadFails("dup");

        var p = Assert.Single(ex.Problems);
        Assert.Equal(profile, Path.GetFullPath(p.File));
        Assert.Contains("is not valid JSON", p.Message, StringComparison.Ordinal);
        Assert.Contains("'timeoutSeconds'", p.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Several_structural_problems_are_reported_at_once()
    {
        using var spec = new TempSpec();
        var profile = spec.WriteProfile("mess", """{ "xen": { "dom0MaxVcpus": "two", "colour": "red" }, "boot": { "defaultEntry": "rescue" } }""");
        spec.EditSpec(root => root["agent"]!.AsObject().Remove("centerUrl"));

        var ex = spec.LoadFails("mess");

        Assert.Equal(4, ex.Problems.Count);
        SpecAssert.Problem(ex, profile, "$.xen.dom0MaxVcpus", "expected a whole number");
        SpecAssert.Problem(ex, profile, "$.xen.colour", "unknown field");
        SpecAssert.Problem(ex, profile, "$.boot.defaultEntry", "expected one of \"live\", \"debug\"");
        SpecAssert.Problem(ex, spec.SpecPath, "$.agent.centerUrl", "is missing");
        Assert.StartsWith("The appliance spec is invalid (4 problems); nothing was built:", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Several_invalid_values_are_reported_at_once()
    {
        using var spec = new TempSpec();
        var profile = spec.WriteProfile("values", """{ "name": "NxTop", "version": "one", "xen": { "dom0Mem": "128M" }, "boot": { "timeoutSeconds": 301 } }""");

        var ex = spec.LoadFails("values");

        Assert.Equal(4, ex.Problems.Count);
        SpecAssert.Problem(ex, profile, "$.name", "got \"NxTop\"");
        SpecAssert.Problem(ex, profile, "$.version", "got \"one\"");
        SpecAssert.Problem(ex, profile, "$.xen.dom0Mem", "at least 256M");
        SpecAssert.Problem(ex, profile, "$.boot.timeoutSeconds", "got 301");
    }

    [Fact]
    public void A_static_network_without_an_address_or_gateway_is_rejected()
    {
        using var spec = new TempSpec();
        var profile = spec.WriteProfile("static", """{ "network": { "mode": "static" } }""");

        var ex = spec.LoadFails("static");

        Assert.Equal(2, ex.Problems.Count);
        Assert.Contains("a static network needs an address with prefix length", ex.Problems.Single(p => p.Path == "$.network.address").Message, StringComparison.Ordinal);
        Assert.Contains("a static network needs a gateway", ex.Problems.Single(p => p.Path == "$.network.gateway").Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_static_address_needs_a_prefix_length()
    {
        using var spec = new TempSpec();
        var profile = spec.WriteProfile("static", """{ "network": { "mode": "static", "address": "192.0.2.10", "gateway": "192.0.2.1" } }""");

        var ex = spec.LoadFails("static");

        SpecAssert.Problem(ex, profile, "$.network.address", "got \"192.0.2.10\"");
    }

    [Fact]
    public void A_complete_static_network_loads()
    {
        using var spec = new TempSpec();
        spec.WriteProfile("static", """{ "network": { "mode": "static", "address": "192.0.2.10/24", "gateway": "192.0.2.1", "dns": ["192.0.2.53", "2001:db8::53"] } }""");

        var n = spec.Load("static").Spec.Network;

        Assert.Equal(NetworkMode.Static, n.Mode);
        Assert.Equal("192.0.2.10/24", n.Address);
        Assert.Equal(["192.0.2.53", "2001:db8::53"], n.Dns);
    }

    [Fact]
    public void An_address_with_dhcp_is_rejected()
    {
        using var spec = new TempSpec();
        var profile = spec.WriteProfile("mixed", """{ "network": { "address": "192.0.2.10/24" } }""");

        var ex = spec.LoadFails("mixed");

        SpecAssert.Problem(ex, profile, "$.network.address", "only used with \"mode\": \"static\"");
    }

    [Fact]
    public void A_spec_with_no_way_to_log_in_is_rejected()
    {
        using var spec = new TempSpec();
        var profile = spec.WriteProfile("locked", """{ "ssh": { "generateClientKey": false } }""");

        var ex = spec.LoadFails("locked");

        Assert.Single(ex.Problems);
        SpecAssert.Problem(ex, profile, "$.ssh.generateClientKey", "no way to log in", "authorizedKeys");
    }

    [Fact]
    public void An_authorized_key_is_a_way_to_log_in()
    {
        using var spec = new TempSpec();
        spec.WriteProfile("keyed", """{ "ssh": { "generateClientKey": false, "authorizedKeys": ["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKeyKeyKeyKeyKeyKeyKeyKeyKeyKeyKeyKeyKeyKeyKey0 me@desk"] } }""");

        var s = spec.Load("keyed").Spec;

        Assert.False(s.Ssh.GenerateClientKey);
        Assert.Single(s.Ssh.AuthorizedKeys);
    }

    [Fact]
    public void The_spec_hash_is_the_sha256_of_the_canonical_json()
    {
        var loaded = SpecLoader.Load(Repo.Spec, null);

        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(loaded.CanonicalJson))), loaded.Sha256);
        Assert.Matches("^[0-9a-f]{64}$", loaded.Sha256);
    }

    [Fact]
    public void The_spec_hash_is_stable_for_the_same_content_even_with_other_comments_and_layout()
    {
        using var a = new TempSpec();
        using var b = new TempSpec();
        var indented = TempSpec.ReadRealSpec().ToJsonString(new System.Text.Json.JsonSerializerOptions { WriteIndented = true });
        b.WriteSpec("// reformatted\n" + string.Join("\n  /* same */\n", indented.Split('\n')));

        Assert.Equal(a.Load().Sha256, a.Load().Sha256);
        Assert.Equal(SpecLoader.Load(Repo.Spec, null).Sha256, a.Load().Sha256);
        Assert.Equal(a.Load().Sha256, b.Load().Sha256);
    }

    [Fact]
    public void The_spec_hash_changes_when_a_value_changes()
    {
        using var spec = new TempSpec();
        var before = spec.Load().Sha256;
        spec.EditSpec(root => root["boot"]!["timeoutSeconds"] = 4);

        Assert.NotEqual(before, spec.Load().Sha256);
    }

    [Fact]
    public void Comments_are_allowed_in_the_spec_and_in_profiles()
    {
        using var spec = new TempSpec();
        spec.WriteSpec("// line comment\n/* block\n comment */\n" + TempSpec.ReadRealSpec().ToJsonString().Replace("\"name\"", "/* inline */ \"name\"", StringComparison.Ordinal));
        spec.WriteProfile("c", "{\n  // more memory\n  \"xen\": { /* here */ \"dom0Mem\": \"2G\" } // trailing\n}\n");

        Assert.Equal("2G", spec.Load("c").Spec.Xen.Dom0Mem);
    }
}
