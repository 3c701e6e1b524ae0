using Microsoft.Playwright;
using NxTop.Center.Hosting;

namespace NxTop.Center.Browser.Tests;

/// <summary>
/// Debian's chromium (<c>apt-get install chromium</c>), found by NXTOP_CHROMIUM, then
/// /usr/lib/chromium/chromium (the binary behind Debian's /usr/bin/chromium wrapper), then PATH.
/// Playwright's own browsers are never used or downloaded.
/// </summary>
public static class Chromium
{
    public const string RequireVariable = "NXTOP_BROWSER_TESTS";

    public static string? ExecutablePath { get; } = Find();

    /// <summary>Set when these tests must run: a missing chromium is then a failure, not a skip.</summary>
    public static bool Required => Environment.GetEnvironmentVariable(RequireVariable) == "1";

    public static string? SkipReason => ExecutablePath is null && !Required
        ? $"chromium is not installed (apt-get install chromium, or NXTOP_CHROMIUM=PATH); set {RequireVariable}=1 to make this a failure"
        : null;

    private static string? Find()
    {
        var fromEnvironment = Environment.GetEnvironmentVariable("NXTOP_CHROMIUM");
        if (!string.IsNullOrEmpty(fromEnvironment))
        {
            return File.Exists(fromEnvironment) ? fromEnvironment : null;
        }

        if (File.Exists("/usr/lib/chromium/chromium"))
        {
            return "/usr/lib/chromium/chromium";
        }

        return (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries)
            .SelectMany(d => new[] { Path.Combine(d, "chromium"), Path.Combine(d, "chromium-browser") })
            .FirstOrDefault(File.Exists);
    }
}

/// <summary>A <see cref="FactAttribute"/> that skips, saying why, when chromium is missing and not required.</summary>
[AttributeUsage(AttributeTargets.Method)]
public sealed class BrowserFactAttribute : FactAttribute
{
    public BrowserFactAttribute()
    {
        if (Chromium.SkipReason is { } reason)
        {
            Skip = reason;
            Console.WriteLine("NxTop.Center.Browser.Tests skipped: " + reason);
        }
    }
}

/// <summary>One headless chromium for the whole collection; each test gets its own context (cookies) and Center.</summary>
public sealed class BrowserFixture : IAsyncLifetime
{
    private IPlaywright? playwright;

    public IBrowser Browser { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        if (Chromium.SkipReason is not null)
        {
            return;
        }

        var executable = Chromium.ExecutablePath
            ?? throw new InvalidOperationException($"{Chromium.RequireVariable}=1 but chromium is not installed: apt-get install chromium (or set NXTOP_CHROMIUM)");
        playwright = await Playwright.CreateAsync();
        Browser = await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = executable,
            Headless = true,
            // As root (CI) chromium refuses to start with its sandbox; /dev/shm may be small in containers.
            Args = ["--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"],
            Timeout = 60_000,
        });
    }

    public async Task DisposeAsync()
    {
        if (Browser is not null)
        {
            await Browser.DisposeAsync();
        }

        playwright?.Dispose();
    }
}

[CollectionDefinition(Name)]
public sealed class ChromiumTests : ICollectionFixture<BrowserFixture>
{
    public const string Name = "chromium";
}

/// <summary>Per test: a real Center on 127.0.0.1 (<see cref="CenterHost"/>) and a signed-in page.</summary>
public abstract class BrowserTest(BrowserFixture fixture) : IAsyncLifetime
{
    protected CenterHost Center { get; private set; } = null!;

    protected IPage Page { get; private set; } = null!;

    private IBrowserContext? context;

    public async Task InitializeAsync()
    {
        if (Chromium.SkipReason is not null)
        {
            return;
        }

        Center = await CenterHost.StartAsync();
        context = await fixture.Browser.NewContextAsync(new BrowserNewContextOptions { BaseURL = Center.Url.ToString().TrimEnd('/') });
        context.SetDefaultTimeout(15_000);
        Page = await context.NewPageAsync();
    }

    public async Task DisposeAsync()
    {
        if (context is not null)
        {
            await context.DisposeAsync();
        }

        if (Center is not null)
        {
            await Center.DisposeAsync();
        }
    }

    protected async Task SignInAsync()
    {
        await Page.GotoAsync("/dashboard");
        Assert.EndsWith("/dashboard/login", Page.Url, StringComparison.Ordinal);
        await Page.GetByLabel("Admin credential").FillAsync(Center.AdminToken);
        await Page.GetByRole(AriaRole.Button, new() { Name = "Sign in" }).ClickAsync();
        await Page.WaitForURLAsync("**/dashboard");
        Assert.Equal("Fleet", await Page.Locator("h1").TextContentAsync());
    }
}
