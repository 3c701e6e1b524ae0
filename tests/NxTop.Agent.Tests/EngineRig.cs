using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;
using NxTop.Agent.Lifecycle;
using NxTop.Agent.Storage;
using NxTop.Contracts;

namespace NxTop.Agent.Tests;

/// <summary>
/// A device in a temp directory: the real store, journal, layering and qemu-img; a fake guest,
/// health signal and content source. <see cref="Reboot"/> builds a fresh engine over the same disk,
/// with no guest running, as after a power cut.
/// </summary>
internal sealed class EngineRig : IDisposable
{
    private readonly TempDirectory _temp = new();
    private readonly List<LifecycleEngine> _engines = [];

    public EngineRig()
    {
        Layout = new StoreLayout(_temp.Combine("nxtop"));
        Layout.CreateDirectories();
        Store = new ContentStore(Layout, 64 * 1024 * 1024);
        Settings = new GuestSettings("desktop", 512, 1, "xenbr0", "/usr/lib/grub-xen/grub-x86_64-xen.bin", "root=/dev/xvda ro", "seed");
        Layering = new GuestLayering(Layout, new QemuImg(new ProcessRunner(TimeProvider.System), "qemu-img"), Settings);
        Fetcher = new FakeFetcher(Store, Publisher);
        Reboot();
    }

    public Publisher Publisher { get; } = new();

    public StoreLayout Layout { get; }

    public ContentStore Store { get; }

    public GuestSettings Settings { get; }

    public GuestLayering Layering { get; }

    public FakeFetcher Fetcher { get; }

    /// <summary>Set before <see cref="Reboot"/> to fetch content another way (over HTTP).</summary>
    public IContentFetcher? FetcherOverride { get; set; }

    /// <summary>What the engines logged, formatted, oldest first.</summary>
    public List<string> Logged { get; } = [];

    public FakeTimeProvider Time { get; } = new(new DateTimeOffset(2026, 11, 24, 12, 0, 0, TimeSpan.Zero));

    public FakeGuests Guests { get; private set; } = null!;

    public FakeHealth Health { get; private set; } = null!;

    public LifecycleEngine Engine { get; private set; } = null!;

    public HistoryLog History => new(Layout);

    public LifecycleStateStore State => new(Layout);

    public ManifestBlob Base1 { get; private set; } = null!;

    /// <summary>A fresh engine on the same disk; the guest is gone; bad blobs stay bad.</summary>
    public LifecycleEngine Reboot()
    {
        var bad = Health?.BadBlobs.ToList() ?? [];
        Guests = new FakeGuests();
        Health = new FakeHealth(Guests, Layering.OsTop);
        Health.BadBlobs.UnionWith(bad);
        var verifier = Publisher.Verifier();
        var stager = new ContentStager(Store, FetcherOverride ?? Fetcher, verifier, Layering);
        Engine = new LifecycleEngine(new LifecycleStateStore(Layout), new HistoryLog(Layout), Layering, Guests, Health, stager, Store, Settings, Time,
            new ListLogger<LifecycleEngine>(Logged));
        _engines.Add(Engine);
        return Engine;
    }

    /// <summary>Publishes base version 1 (one layer), then each later version as a delta over the one before.</summary>
    public IReadOnlyList<ManifestBlob> PublishBase(int versions, string name = "desktop")
    {
        var chain = new List<ManifestBlob>();
        for (var version = 1; version <= versions; version++)
        {
            var layer = Publisher.Layer(chain.LastOrDefault(), pattern: (byte)(0x10 * version), offset: 64 * 1024 * version);
            chain.Add(layer);
            Fetcher.Add(Publisher.Publish(ContentKind.Base, name, version, [.. chain]));
        }

        Base1 = chain[0];
        return chain;
    }

    public static DesiredState Desired(long baseVersion, long generation = 1, ImageMode mode = ImageMode.Shared, IReadOnlyList<ContentRef>? apps = null, int deadline = 120) => new(
        "dev-1",
        new ContentRef("desktop", baseVersion, ApiRoutes.Manifest("desktop", baseVersion)),
        apps ?? [],
        new DevicePolicy(mode, deadline, 30, LockoutAction.StopGuest),
        new DateTimeOffset(2026, 11, 24, 0, 0, 0, TimeSpan.Zero),
        generation);

    public long? CurrentBase => State.LoadInstalled().Current?.Base.Version;

    /// <summary>The guest-visible checks that hold whatever happened: the top sits on the current base's top blob, nothing is half-written.</summary>
    public void AssertConsistent()
    {
        var installed = State.LoadInstalled();
        Assert.Null(State.LoadJournal());
        var referenced = new[] { installed.Current, installed.LastKnownGood, installed.Previous }.OfType<GuestSelection>()
            .SelectMany(s => s.Apps.Prepend(s.Base)).ToList();
        var verification = Store.Verify(referenced);
        Assert.True(verification.Consistent, string.Join("; ", verification.Problems));
        Assert.False(File.Exists(Layering.OsTopRollback), "the rollback copy of the top is left over");
        if (installed.Current is { } current && File.Exists(Layering.OsTop))
        {
            Assert.Equal(Layout.Blob(current.BaseTop.Sha256), Qcow2.BackingOf(Layering.OsTop));
        }
    }

    public void Dispose()
    {
        foreach (var engine in _engines)
        {
            engine.Dispose();
        }

        Publisher.Dispose();
        _temp.Dispose();
    }
}

/// <summary>Keeps every formatted log message.</summary>
internal sealed class ListLogger<T>(List<string> messages) : ILogger<T>
{
    public IDisposable? BeginScope<TState>(TState state)
        where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => true;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        lock (messages)
        {
            messages.Add(formatter(state, exception));
        }
    }
}
