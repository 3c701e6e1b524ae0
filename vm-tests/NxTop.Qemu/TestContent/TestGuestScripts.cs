using System.Globalization;

namespace NxTop.Qemu.TestContent;

/// <summary>
/// The scripts of the agent test guest. Everything the guest says goes to its Xen console (hvc0), which
/// xenconsoled logs in dom0 (<c>/var/log/xen/console/guest-NAME.log</c>): the agent's health check and the VM
/// tests read the lines that start with these markers.
/// </summary>
public static class TestGuestScripts
{
    /// <summary><c>NXTOP_GUEST base=NAME version=N kernel=R at=EPOCH</c>: the root's init started this version.</summary>
    public const string GuestMarker = "NXTOP_GUEST";

    /// <summary><c>NXTOP_APP name=N version=V</c> once the app disk (xvdb) is mounted, or <c>NXTOP_APP none</c>.</summary>
    public const string AppMarker = "NXTOP_APP";

    /// <summary><c>NXTOP_APP_UP name=N version=V</c>: the app's own service runs.</summary>
    public const string AppUpMarker = "NXTOP_APP_UP";

    /// <summary>The agent's console health marker (<c>XenstoreHealthProbe.ConsoleMarker</c>).</summary>
    public const string HealthMarker = "NXTOP_HEALTH=";

    /// <summary>What a version whose health file is not <c>ok</c> prints instead of reporting health.</summary>
    public const string SilentMarker = "NXTOP_GUEST_SILENT";

    /// <summary>The Xen PV kernel command line of the test base (the initrd finds the root itself).</summary>
    public const string KernelCommandLine = "console=hvc0 quiet";

    /// <summary>
    /// Loaded in this order by the initrd: the Debian kernel builds the Xen block front end and ext4 as modules.
    /// Paths relative to <c>/lib/modules/RELEASE/</c> (Debian 12's modules are not compressed). crc32c is only needed
    /// for ext4's metadata checksums, which the test file systems leave out; it is loaded so that one that has them mounts too.
    /// </summary>
    public static IReadOnlyList<string> Modules { get; } =
    [
        "kernel/crypto/crc32c_generic.ko",
        "kernel/lib/crc16.ko",
        "kernel/fs/mbcache.ko",
        "kernel/fs/jbd2/jbd2.ko",
        "kernel/fs/ext4/ext4.ko",
        "kernel/drivers/block/xen-blkfront.ko",
    ];

    /// <summary>busybox and the libraries it needs, relative to a Debian 12 root; the guest gets its own copies.</summary>
    public static IReadOnlyList<(string Source, string Target)> BusyboxFiles { get; } =
    [
        ("usr/bin/busybox", "bin/busybox"),
        ("lib/x86_64-linux-gnu/libc.so.6", "lib/x86_64-linux-gnu/libc.so.6"),
        ("lib/x86_64-linux-gnu/libresolv.so.2", "lib/x86_64-linux-gnu/libresolv.so.2"),
        ("lib64/ld-linux-x86-64.so.2", "lib64/ld-linux-x86-64.so.2"),
    ];

    /// <summary>
    /// The initrd's /init: loads the modules, mounts the base disk (xvda) read-only and hands over to its
    /// /sbin/init. A failure is reported as a failed health, so the agent does not wait for its deadline.
    /// </summary>
    public static string InitrdInit { get; } = $$"""
        #!/bin/busybox sh
        # /init of the NxTop agent test guest's initrd (made by NxTop.Qemu.TestContent.TestGuestContent).
        B=/bin/busybox
        $B mount -t proc proc /proc
        $B mount -t sysfs sysfs /sys
        $B mount -t devtmpfs devtmpfs /dev
        exec >/dev/hvc0 2>&1 </dev/hvc0
        fail() { echo "{{HealthMarker}}failed: initrd: $*"; while :; do $B sleep 3600; done; }
        for m in {{string.Join(' ', Modules.Select(m => Path.GetFileNameWithoutExtension(m)))}}; do
          $B insmod /modules/$m.ko || fail "insmod $m"
        done
        i=0
        while [ ! -b /dev/xvda ] && [ $i -lt 60 ]; do $B sleep 1; i=$((i+1)); done
        [ -b /dev/xvda ] || fail "no /dev/xvda after 60 s"
        $B mount -t ext4 -o ro /dev/xvda /newroot || fail "cannot mount /dev/xvda"
        for d in dev proc sys; do $B mount --move /$d /newroot/$d; done
        exec $B switch_root /newroot /sbin/init

        """.Replace("\r", "", StringComparison.Ordinal);

    /// <summary>
    /// The base image's /sbin/init: prints its version, mounts the app disk (xvdb) and starts the app, then reports
    /// <c>ok</c> on the console and in xenstore (<c>data/nxtop/health</c>) if <c>/etc/nxtop/health</c> says
    /// <c>ok</c>; any other value makes a version that never reports health (the bad patch). PID 1 never exits.
    /// </summary>
    public static string RootInit { get; } = $$"""
        #!/bin/busybox sh
        # /sbin/init of the NxTop agent test base image (made by NxTop.Qemu.TestContent.TestGuestContent).
        B=/bin/busybox
        $B mount -t tmpfs -o mode=0755 tmpfs /run
        $B mkdir -p /run/bin
        $B --install -s /run/bin
        export PATH=/run/bin
        exec >/dev/hvc0 2>&1 </dev/hvc0
        VERSION=$(cat /etc/nxtop/version)
        echo "{{GuestMarker}} base=$(cat /etc/nxtop/name) version=$VERSION kernel=$(uname -r) at=$(date +%s)"
        if [ -b /dev/xvdb ] && mount -t ext4 -o ro /dev/xvdb /opt/app; then
          . /opt/app/app.env
          echo "{{AppMarker}} name=$APP_NAME version=$APP_VERSION"
          sh /opt/app/run.sh &
        else
          echo "{{AppMarker}} none"
        fi
        # read, not $(cat): the file is padded with spaces to a fixed length (see TestGuestContent.StageRoot).
        read -r HEALTH < /etc/nxtop/health
        if [ "$HEALTH" = ok ]; then
          # xenstore: an XS_WRITE (type 11, 20 payload bytes) of data/nxtop/health = ok on the guest's own xenbus
          # device; a relative path is under /local/domain/DOMID. Best effort: the console line below is enough.
          if [ -c /dev/xen/xenbus ]; then
            printf '\013\000\000\000\000\000\000\000\000\000\000\000\024\000\000\000data/nxtop/health\000ok' >/dev/xen/xenbus && echo "NXTOP_XENSTORE health=ok written"
          fi
          echo "{{HealthMarker}}ok"
        else
          echo "{{SilentMarker}} version=$VERSION: this version never reports its health"
        fi
        while :; do sleep 3600; done

        """.Replace("\r", "", StringComparison.Ordinal);

    /// <summary>
    /// <c>/sbin/poweroff</c>: the kernel runs it when Xen asks the guest to shut down (<c>xl shutdown</c>, orderly_poweroff);
    /// without it the agent's clean stop would wait out its 60 s grace before destroying the guest.
    /// </summary>
    public static string Poweroff { get; } = """
        #!/bin/busybox sh
        # Run by the kernel on a Xen shutdown request: the root is read-only, so power off at once.
        exec /bin/busybox poweroff -f

        """.Replace("\r", "", StringComparison.Ordinal);

    /// <summary>The app's service: says that it runs.</summary>
    public static string AppRun { get; } = $$"""
        # The NxTop test app's service (made by NxTop.Qemu.TestContent.TestGuestContent).
        . /opt/app/app.env
        echo "{{AppUpMarker}} name=$APP_NAME version=$APP_VERSION"

        """.Replace("\r", "", StringComparison.Ordinal);

    public static string AppEnv(string name, long version) =>
        string.Create(CultureInfo.InvariantCulture, $"APP_NAME={name}\nAPP_VERSION={version}\n");
}
