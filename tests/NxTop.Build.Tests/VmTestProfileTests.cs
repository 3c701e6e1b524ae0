using NxTop.Build.Spec;

namespace NxTop.Build.Tests;

/// <summary>The vmtest profile trusts the committed test publisher key; no other profile may.</summary>
public class VmTestProfileTests
{
    private const string TestKey = "vmtest-publisher.pub.pem";

    [Fact]
    public void The_vmtest_profile_bakes_the_test_publisher_key_and_a_small_guest()
    {
        var loaded = SpecLoader.Load(Repo.Spec, "vmtest");

        var keys = ApplianceBuild.PublisherKeys(loaded);

        Assert.Equal("nxtop-vmtest", loaded.Spec.Name);
        Assert.Equal(TestKey, Path.GetFileName(Assert.Single(keys)));
        Assert.True(File.Exists(Path.Combine(Path.GetDirectoryName(keys[0])!, "vmtest-publisher.key.pem")), "the Center of the VM tests signs with the private half beside it");
        Assert.Equal(128, loaded.Spec.Agent.GuestMemoryMiB);
    }

    [Theory]
    [InlineData("none")]
    [InlineData("release")]
    [InlineData("lab")]
    [InlineData("debug")]
    [InlineData("installer")]
    public void No_other_profile_trusts_the_test_key(string profile)
    {
        var keys = ApplianceBuild.PublisherKeys(SpecLoader.Load(Repo.Spec, profile));

        Assert.DoesNotContain(keys, k => Path.GetFileName(k) == TestKey);
    }
}
