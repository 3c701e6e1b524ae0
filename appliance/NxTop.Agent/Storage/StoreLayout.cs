namespace NxTop.Agent.Storage;

/// <summary>
/// Where everything lives under the data root (default /var/lib/nxtop):
/// <code>
/// blobs/sha256/&lt;hash&gt;              verified, read-only content (qcow2 layers, raw app disks, kernels)
/// blobs/partial/&lt;hash&gt;.part        downloads in progress (resumed with HTTP Range)
/// manifests/&lt;name&gt;/&lt;version&gt;.json  verified signed manifests (the envelope, re-verified on load)
/// guests/&lt;guest&gt;/                  the guest's writable tops and its rendered xl config
/// state/                            identity, desired state, installed state, journal, history, outbox
/// </code>
/// </summary>
internal sealed record StoreLayout(string Root)
{
    public string BlobsDirectory => Path.Combine(Root, "blobs", "sha256");

    public string PartialDirectory => Path.Combine(Root, "blobs", "partial");

    public string ManifestsDirectory => Path.Combine(Root, "manifests");

    public string GuestsDirectory => Path.Combine(Root, "guests");

    public string StateDirectory => Path.Combine(Root, "state");

    public string Blob(string sha256) => Path.Combine(BlobsDirectory, sha256);

    public string Partial(string sha256) => Path.Combine(PartialDirectory, sha256 + ".part");

    public string Manifest(string name, long version) => Path.Combine(ManifestsDirectory, name, $"{version}.json");

    public string GuestDirectory(string guest) => Path.Combine(GuestsDirectory, guest);

    public string Identity => Path.Combine(StateDirectory, "identity.json");

    public string DesiredState => Path.Combine(StateDirectory, "desired-state.json");

    public string Installed => Path.Combine(StateDirectory, "installed.json");

    public string Journal => Path.Combine(StateDirectory, "journal.json");

    public string History => Path.Combine(StateDirectory, "history.jsonl");

    public string Contact => Path.Combine(StateDirectory, "contact.json");

    /// <summary>The Center and token set by <c>nxtopctl enroll</c>; wins over the configuration file's.</summary>
    public string CenterEnrollment => Path.Combine(StateDirectory, "center.json");

    public string Outbox => Path.Combine(StateDirectory, "outbox");

    /// <summary>Left by a wipe ordered by the Center; while it exists the agent does nothing but report it in the status.</summary>
    public string Wiped => Path.Combine(Root, "wiped.json");

    public void CreateDirectories()
    {
        foreach (var directory in new[] { BlobsDirectory, PartialDirectory, ManifestsDirectory, GuestsDirectory, StateDirectory, Outbox })
        {
            Directory.CreateDirectory(directory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }
    }
}
