using Xunit.Sdk;

namespace NxTop.VmTests;

/// <summary>
/// Runs a class's tests in the order they are written, so each scenario starts with its boot and health checks
/// and later failures read as consequences of earlier ones.
/// </summary>
public sealed class DeclarationOrderer : ITestCaseOrderer
{
    /// <summary>The assembly-qualified name for <see cref="TestCaseOrdererAttribute"/>.</summary>
    public const string TypeName = "NxTop.VmTests.DeclarationOrderer";

    /// <summary>This assembly's name.</summary>
    public const string AssemblyName = "NxTop.VmTests";

    /// <inheritdoc />
    public IEnumerable<TTestCase> OrderTestCases<TTestCase>(IEnumerable<TTestCase> testCases)
        where TTestCase : ITestCase =>
        testCases.OrderBy(tc => tc.TestMethod.Method.ToRuntimeMethod()?.MetadataToken ?? int.MaxValue)
            .ThenBy(tc => tc.DisplayName, StringComparer.Ordinal);
}
