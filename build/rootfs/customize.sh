#!/bin/sh
# mmdebstrap customize hook for the NxTop dom0 base (cached). $1 is the root being built.
# Everything here is part of the cache key: change this file and the next build rebuilds the base.
set -eu
root="$1"

# No host keys in the cached base: the build adds a per-build key in the top layer.
rm -f "$root"/etc/ssh/ssh_host_*

# systemd generates a machine-id at every (live) boot.
: > "$root/etc/machine-id"
rm -f "$root/var/lib/dbus/machine-id"

# Networking is systemd-networkd (configs come from templates in the top layer).
chroot "$root" systemctl enable systemd-networkd.service
# Nothing in dom0 needs to wait for the network to be online.
chroot "$root" systemctl mask systemd-networkd-wait-online.service

# Prune kernel modules dom0 never needs (sound, GPUs, wireless, media, ...). Keep storage, network (drivers and
# the kernel/net stack for bridges and netfilter), USB, virtio, Xen, md/dm, input and file systems.
for kver in $(ls "$root/usr/lib/modules"); do
  k="$root/usr/lib/modules/$kver/kernel"
  rm -rf "$k/sound" "$k/drivers/gpu" "$k/drivers/media" "$k/drivers/infiniband" "$k/drivers/staging" \
         "$k/drivers/iio" "$k/drivers/net/wireless" "$k/drivers/bluetooth" "$k/drivers/isdn" "$k/drivers/comedi" \
         "$k/drivers/video" "$k/drivers/net/can" "$k/drivers/mtd" "$k/drivers/w1" "$k/drivers/hwmon" \
         "$k/drivers/leds" "$k/drivers/power/supply" "$k/drivers/thunderbolt" "$k/drivers/fpga" "$k/drivers/nfc" \
         "$k/drivers/net/wwan" "$k/drivers/net/usb" "$k/drivers/atm" "$k/drivers/misc/cardreader" \
         "$k/net/wireless" "$k/net/mac80211" "$k/net/bluetooth" "$k/net/nfc" "$k/net/can" "$k/fs/ocfs2" \
         "$k/fs/gfs2" "$k/fs/ceph" "$k/fs/smb" "$k/fs/nfs" "$k/fs/nfsd" "$k/drivers/net/ethernet/mellanox" \
         "$k/drivers/net/ethernet/chelsio" "$k/drivers/net/ethernet/qlogic" "$k/drivers/net/ethernet/cavium" \
         "$k/drivers/scsi/lpfc" "$k/drivers/scsi/qla2xxx" "$k/drivers/scsi/bfa" "$k/drivers/scsi/qedf" "$k/drivers/scsi/qedi"
  chroot "$root" depmod "$kver"
done

# A small, zstd-compressed initrd: the modules dom0 needs to find its boot medium, no firmware.
mkdir -p "$root/etc/initramfs-tools/conf.d"
cat > "$root/etc/initramfs-tools/conf.d/nxtop.conf" <<'CONF'
COMPRESS=zstd
COMPRESSLEVEL=19
CONF
# MODULES=most also packs file systems that can never hold dom0's boot medium (the ISO, a slot, the data partition
# or a fetched root.iso): 11 MiB the kernel would unpack at every boot. They stay in the root for dom0's own use.
mkdir -p "$root/etc/initramfs-tools/hooks"
cat > "$root/etc/initramfs-tools/hooks/nxtop-trim" <<'HOOK'
#!/bin/sh
# NxTop: drop file systems the live boot never mounts from the initramfs (mkinitramfs runs depmod afterwards).
case "$1" in prereqs) exit 0 ;; esac
k="$DESTDIR/lib/modules/$version/kernel/fs"
rm -rf "$k/xfs" "$k/btrfs" "$k/f2fs" "$k/jfs" "$k/reiserfs" "$k/jffs2" "$k/hfs" "$k/hfsplus" "$k/nilfs2"
HOOK
chmod 755 "$root/etc/initramfs-tools/hooks/nxtop-trim"
chroot "$root" update-initramfs -u -k all

# Caches and logs that only cost space.
rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/*.bin "$root"/var/cache/apt/archives/*.deb \
       "$root"/var/log/*.log "$root"/var/log/apt/* "$root"/var/cache/debconf/*-old "$root"/var/lib/dpkg/*-old
