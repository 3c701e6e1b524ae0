using NxTop.Contracts;

namespace NxTop.Agent.Lifecycle;

/// <summary>What the guest is composed of: one base, its apps in order, and the image mode. Manifests are verified copies.</summary>
internal sealed record GuestSelection(ContentManifest Base, IReadOnlyList<ContentManifest> Apps, ImageMode Mode)
{
    public VersionRef BaseRef => new(Base.Name, Base.Version);

    public IReadOnlyList<VersionRef> AppRefs => [.. Apps.Select(a => new VersionRef(a.Name, a.Version))];

    /// <summary>The top of the base's qcow2 chain, which the guest's own differencing disk sits on.</summary>
    public ManifestBlob BaseTop => Base.Blobs.Last(b => b.Role == BlobRole.Disk);

    public bool SameContentAs(GuestSelection? other) =>
        other is not null
        && other.Mode == Mode
        && other.BaseRef == BaseRef
        && other.AppRefs.SequenceEqual(AppRefs);

    public override string ToString() =>
        $"{Base.Name}/{Base.Version}" + string.Concat(Apps.Select(a => $" +{a.Name}/{a.Version}")) + $" ({Mode.ToString().ToLowerInvariant()})";
}
