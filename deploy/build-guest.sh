#!/usr/bin/env bash
# Builds a small real Debian 12 guest for direct kernel boot, from Debian's packages:
#   OUTDIR/vmlinuz      the standard linux-image-amd64 kernel (it has e1000, e1000e and sym53c8xx, which the
#                       cloud kernel lacks)
#   OUTDIR/initrd.img   its initramfs (virtio-blk, nvme and SCSI drivers included)
#   OUTDIR/root.img     an ext4 root file system labelled "root" (2 GiB, sparse), made without a loop mount
#   OUTDIR/VERSION      which build of the guest this is
# The guest: systemd, a root shell on the serial console (autologin on ttyS0), netcat-openbsd, pciutils,
# iproute2 and cloud-init (NoCloud only: it configures the guest at first boot from a "cidata" seed, and
# stays off when there is none), DHCP on every Ethernet NIC (systemd-networkd); nothing that reaches out
# on its own (no NTP, no apt timers). Boot it with the command
# line "console=ttyS0 root=LABEL=root rw". About 2 minutes and 100 MB of downloads on a fresh machine.
#
#   build-guest.sh OUTDIR       as root (debootstrap); installs debootstrap and e2fsprogs when missing
#
# Env: MPQEMU_DEBIAN_MIRROR (default: the Debian mirror this host's apt uses, else debootstrap's own).
set -euo pipefail
prog=$(basename "$0")
trap 'echo "$prog: failed at line $LINENO: $BASH_COMMAND" >&2' ERR
[ $# -eq 1 ] || { echo "usage: $prog OUTDIR" >&2; exit 2; }
out=$1
# the mirror this host's apt already uses for Debian's main archive (deb822 or one-line sources); empty when
# none is found, and debootstrap then takes its own default
host_mirror() {
  local files=() f
  for f in /etc/apt/sources.list.d/*.sources /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    [ -r "$f" ] && files+=("$f")
  done
  [ ${#files[@]} -gt 0 ] || return 0
  awk '
    function take(uri) { if (uri ~ /\/debian\/?$/) { print uri; found = 1; exit } }
    /^[[:space:]]*#/ { next }
    $1 == "URIs:" { for (i = 2; i <= NF; i++) take($i); next }
    $1 == "deb" {
      i = 2
      if ($i ~ /^\[/) { while (i <= NF && $i !~ /\]$/) i++; i++ }
      if (i <= NF) take($i)
    }' "${files[@]}"
}
mirror=${MPQEMU_DEBIAN_MIRROR:-$(host_mirror)}
if [ "$(id -u)" -ne 0 ]; then
  echo "$prog: needs root (debootstrap); run: sudo $0 $out" >&2
  exit 1
fi
if ! command -v debootstrap >/dev/null || ! command -v mke2fs >/dev/null; then
  apt-get install -y -qq --no-install-recommends debootstrap e2fsprogs >/dev/null
fi
mkdir -p "$out"
work=$(mktemp -d /var/tmp/mpqemu-guest.XXXXXX)
trap 'rm -rf "$work"' EXIT
rootfs=$work/rootfs
# apt in the chroot needs a /tmp anyone may write (this machine's is 0755)
mkdir -m 1777 "$work/tmp"
export TMPDIR=$work/tmp

echo "$prog: debootstrap (minbase, bookworm) from ${mirror:-the default mirror of debootstrap}" >&2
debootstrap --variant=minbase \
  --include=systemd-sysv,udev,kmod,linux-image-amd64,netcat-openbsd,pciutils,iproute2 \
  bookworm "$rootfs" ${mirror:+"$mirror"} >"$work/debootstrap.log" 2>&1 || {
    tail -n 20 "$work/debootstrap.log" >&2
    echo "$prog: debootstrap failed" >&2
    exit 1
  }

# cloud-init with apt inside the guest: debootstrap cannot order its Python dependencies' configuration
mount -t proc proc "$rootfs/proc"
trap 'umount "$rootfs/proc" 2>/dev/null || true; rm -rf "$work"' EXIT
# (the guest's own /tmp, not the host's TMPDIR, which does not exist inside it)
in_guest() { env -u TMPDIR DEBIAN_FRONTEND=noninteractive chroot "$rootfs" "$@"; }
{ in_guest apt-get update -q && in_guest apt-get install -y -q --no-install-recommends cloud-init; } \
  >"$work/cloud-init.log" 2>&1 || {
    grep -v '^Get:' "$work/cloud-init.log" | tail -n 30 >&2
    echo "$prog: installing cloud-init in the guest failed" >&2
    exit 1
  }
in_guest apt-get clean
umount "$rootfs/proc"

# a root shell on the serial console, without a password: the guest is for tests and demos
mkdir -p "$rootfs/etc/systemd/system/serial-getty@ttyS0.service.d"
cat >"$rootfs/etc/systemd/system/serial-getty@ttyS0.service.d/autologin.conf" <<'EOF'
[Service]
ExecStart=
ExecStart=-/sbin/agetty --autologin root --keep-baud 115200,57600,38400,9600 %I $TERM
EOF
echo "LABEL=root / ext4 defaults 0 1" >"$rootfs/etc/fstab"
echo "mpqemu-guest" >"$rootfs/etc/hostname"
# cloud-init looks only for seeds on local disks (NoCloud: a volume labelled cidata; ConfigDrive: config-2),
# so it needs no network to read one; without a seed its generator turns it off for the boot (a list of
# one source would be taken as found without looking)
cat >"$rootfs/etc/cloud/cloud.cfg.d/90-mpqemu.cfg" <<'EOF'
datasource_list: [ NoCloud, ConfigDrive ]
EOF
# every Ethernet NIC asks for an address by DHCP at boot (systemd-networkd); nothing waits for a network
# that a VM without NICs never gets
mkdir -p "$rootfs/etc/systemd/network"
cat >"$rootfs/etc/systemd/network/80-dhcp.network" <<'EOF'
[Match]
Name=en* eth*

[Network]
DHCP=ipv4
EOF
in_guest systemctl enable -q systemd-networkd
ln -sf /dev/null "$rootfs/etc/systemd/system/systemd-networkd-wait-online.service"
# nothing reaches out on its own
for unit in apt-daily.timer apt-daily-upgrade.timer systemd-timesyncd.service; do
  ln -sf /dev/null "$rootfs/etc/systemd/system/$unit"
done

install -m 0644 "$(readlink -f "$rootfs/vmlinuz")" "$out/vmlinuz"
install -m 0644 "$(readlink -f "$rootfs/initrd.img")" "$out/initrd.img"
rm -f "$out/root.img"
mke2fs -q -t ext4 -d "$rootfs" -L root "$out/root.img" 2G
chmod 0644 "$out/root.img"
# what this script builds, so that a guest built by an older one is known as such (test-fixtures' TestGuest)
echo "mpqemu test guest 3: bookworm, serial autologin, cloud-init (NoCloud, ConfigDrive), DHCP on every NIC" >"$out/VERSION"
echo "$prog: $out/vmlinuz, $out/initrd.img, $out/root.img" >&2
