# Builds the file system every confined QEMU process of this agent sees, in a mount namespace of its
# own: a read-only tmpfs root with /usr (programs, libraries, QEMU's modules, firmware and option
# ROMs), the loader cache, a /dev with null, zero, full, random, urandom (and kvm when asked), a
# /proc that shows a process only its own uid's processes, and an empty /tmp. Nothing else of the
# host exists in it: no image, no state directory, no /etc/mpqemu, /root or /home.
# Arguments: the directory to build it on, "kvm" or "nokvm", then files to bind at their own path
# (the QEMU binary when it lies outside /usr). Prints "ready", then holds the namespace open until
# its stdin closes, so that the agent can open /proc/<pid>/ns/mnt.
set -eu
root=$1; kvm=$2; shift 2
mount -t tmpfs -o mode=0755,nosuid,nodev,size=1m mpqemu-view "$root"
mkdir "$root/usr" "$root/etc" "$root/dev" "$root/proc" "$root/tmp"
mount -o bind,ro,nosuid,nodev /usr "$root/usr"
for l in bin sbin lib lib32 lib64 libx32; do
  if [ -L "/$l" ]; then
    ln -s "$(readlink "/$l")" "$root/$l"
  elif [ -d "/$l" ]; then
    mkdir "$root/$l"
    mount -o bind,ro,nosuid,nodev "/$l" "$root/$l"
  fi
done
if [ -f /etc/ld.so.cache ]; then
  touch "$root/etc/ld.so.cache"
  mount -o bind,ro /etc/ld.so.cache "$root/etc/ld.so.cache"
fi
mount -t tmpfs -o mode=0755,nosuid,noexec,size=64k mpqemu-dev "$root/dev"
for d in null zero full random urandom; do
  touch "$root/dev/$d"
  mount --bind "/dev/$d" "$root/dev/$d"
done
if [ "$kvm" = kvm ] && [ -c /dev/kvm ]; then
  touch "$root/dev/kvm"
  mount --bind /dev/kvm "$root/dev/kvm"
fi
mount -t proc -o nosuid,nodev,noexec,hidepid=2 proc "$root/proc"
mount -t tmpfs -o mode=1777,nosuid,nodev,size=16m mpqemu-tmp "$root/tmp"
# after /tmp, /dev and /proc are mounted, so that a file under them stays visible
for f in "$@"; do
  mkdir -p "$root$(dirname "$f")"
  touch "$root$f"
  mount -o bind,ro,nosuid,nodev "$f" "$root$f"
done
cd "$root"
mkdir .old
pivot_root . .old
umount -l .old
rmdir .old
mount -o remount,ro,bind /
echo ready
read -r _ || true
