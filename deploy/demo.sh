#!/usr/bin/env bash
# The main job, for a newcomer: sets up what is missing, builds, starts the control plane with an
# embedded node agent for this host (data in ./run), builds a small real Debian guest once (about 2
# minutes, kept in the data directory), creates the example VM from deploy/examples/debian-vm.json (its
# root disk on a virtio-blk-pci in its own QEMU process, proxied into the main QEMU, guest RAM in a memfd,
# the kernel booted directly), follows its events until the guest is ready, shows its console, attaches
# to it when run in a terminal (Ctrl-] leaves), and serves until Ctrl-C, which deletes the example VM
# and stops the control plane.
#
# Run again after an unclean exit (terminal closed, kill -9), it stops the control plane that run
# left, and deletes and recreates the example VM, so every run shows a launch from the start.
#
# Env: MPQEMU_DATA (data directory: database, socket, images, logs; default ./run).
#      MPQEMU_GUEST_DIR (where the Debian guest is built and kept; default $MPQEMU_DATA/guest).
#      MPQEMU_DEMO_CLASSPATH (for the tests: run the main classes from this class path instead of
#      building the jars, which Maven makes only after the tests have run).
set -euo pipefail
cd "$(dirname "$0")/.."

data="${MPQEMU_DATA:-$PWD/run}"
server="unix:$data/control-plane.sock"
pidfile="$data/control-plane.pid"   # lets the next run find a control plane this one failed to stop
guest="${MPQEMU_GUEST_DIR:-$data/guest}"

# Set before anything can fail: cleanup() reads them.
server_pid=
watcher=

# stop_pid PID: SIGTERM, 30 s to exit, then SIGKILL. Works for processes that are not our children.
stop_pid() {
  local i
  kill -TERM "$1" 2>/dev/null || return 0
  for i in $(seq 1 150); do
    kill -0 "$1" 2>/dev/null || return 0
    sleep 0.2
  done
  kill -KILL "$1" 2>/dev/null || true
}

# Ctrl-C, a closed terminal (SIGHUP), SIGTERM or any exit: delete the example VM and stop the control
# plane. It must finish even when nobody reads its output any more: under `demo.sh | tee log`, Ctrl-C
# also kills tee, and a write to its pipe would raise SIGPIPE; a closed terminal gives EIO. So the
# work comes first and the words after, written with `|| true`.
cleanup() {
  local status=${1:-$?}
  # Once only, and not to be cut short by a second Ctrl-C, a hangup or a broken pipe. The commands
  # run from here inherit the ignored signals (a JVM started with SIGINT/SIGHUP ignored keeps them so).
  trap '' INT TERM HUP PIPE
  trap - EXIT
  set +e
  [ -n "$watcher" ] && kill "$watcher" 2>/dev/null
  if [ -n "$server_pid" ]; then
    cli vm delete demo >/dev/null 2>&1
    stop_pid "$server_pid"
    rm -f "$pidfile"
  fi
  if [ -n "$server_pid" ]; then
    { echo; echo "==> deleted the example VM and stopped the control plane"; } >&2 2>/dev/null || true
  fi
  exit "$status"
}
trap 'cleanup 130' INT
trap 'cleanup 143' TERM
trap 'cleanup 129' HUP
trap cleanup EXIT

deploy/install-deps.sh
if [ -n "${MPQEMU_DEMO_CLASSPATH:-}" ]; then
  cp_cmd=(java -cp "$MPQEMU_DEMO_CLASSPATH" io.mpqemu.dist.ControlPlaneJar)
  cp_hint='java -cp "$MPQEMU_DEMO_CLASSPATH" io.mpqemu.dist.ControlPlaneJar'
else
  echo "==> building (mvn package)" >&2
  mvn -B -q -DskipTests package
  cp_cmd=(java -jar dist/target/control-plane.jar)
  cp_hint="java -jar dist/target/control-plane.jar"
fi
cli() { "${cp_cmd[@]}" --server "$server" "$@"; }

mkdir -p "$data/images"

# A control plane an earlier run left (it runs in its own session, so a closed terminal or a kill -9
# of this script does not reach it): a second one on the same database would be refused, so stop it.
# Its pid is used only if that process is still a control plane serving this data directory.
if [ -f "$pidfile" ]; then
  old=$(cat "$pidfile")
  if [[ $old =~ ^[0-9]+$ ]] && [[ "$(tr '\0' ' ' <"/proc/$old/cmdline" 2>/dev/null)" == *" serve --embedded-agent --data-dir $data "* ]]; then
    echo "==> stopping the control plane an earlier run left (pid $old)" >&2
    stop_pid "$old"
  fi
  rm -f "$pidfile"
fi

if [ ! -f "$guest/root.img" ] || [ ! -f "$guest/vmlinuz" ] || [ ! -f "$guest/initrd.img" ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "mpqemu: the demo's Debian guest is not built yet; build it once (as root, about 2 minutes) with:" >&2
    echo "  sudo deploy/build-guest.sh $guest" >&2
    exit 1
  fi
  echo "==> building the Debian guest into $guest (once; about 2 minutes)" >&2
  deploy/build-guest.sh "$guest"
fi
mkdir -p "$data/images/debian"
cp "$guest/vmlinuz" "$guest/initrd.img" "$data/images/debian/"

echo "==> starting the control plane with an embedded node agent (data in $data)" >&2
# setsid: Ctrl-C reaches this script only, which then deletes the VM before stopping the server
setsid "${cp_cmd[@]}" serve --embedded-agent --data-dir "$data" --listen "$server" 2>"$data/control-plane.log" &
server_pid=$!
echo "$server_pid" >"$pidfile"

# The node must be READY, exactly: after a restart on an existing database the node first shows
# NOT_READY (its last heartbeat is old) until the embedded agent's first heartbeat.
deadline=$((SECONDS + 120))
until cli node list --output json 2>/dev/null | grep -q '"NODE_STATE_READY"'; do
  if ! kill -0 "$server_pid" 2>/dev/null; then
    echo "mpqemu: the control plane did not start; its log:" >&2
    cat "$data/control-plane.log" >&2
    exit 1
  fi
  if [ "$SECONDS" -ge "$deadline" ]; then
    echo "mpqemu: the node is not READY after 120 s; log: $data/control-plane.log" >&2
    cli node list >&2 || true
    exit 1
  fi
  sleep 0.2
done
echo "==> nodes" >&2
cli node list

# An example VM an earlier run left (in any phase, perhaps adopted, perhaps from an older spec) is
# deleted and created again rather than reused: the run then shows the same launch, events and
# console as a first run. Exit code 4 is "no such VM"; anything else is retried for a while (the
# agent may still be adopting it).
deadline=$((SECONDS + 60))
until cli vm get demo >/dev/null 2>&1; rc=$?; [ "$rc" -eq 4 ]; do
  if [ "$rc" -eq 0 ]; then
    echo "==> deleting the example VM an earlier run left" >&2
    cli vm delete demo >/dev/null 2>&1 || true
  fi
  [ "$SECONDS" -lt "$deadline" ] || { echo "mpqemu: cannot delete the earlier run's example VM" >&2; exit 1; }
  sleep 0.5
done

from=$(cli events --output json 2>/dev/null | tail -n 1 | sed -n 's/.*"seq": *"\([0-9]*\)".*/\1/p')
echo "==> events (live)" >&2
"${cp_cmd[@]}" --server "$server" events --follow --from "${from:-0}" &
watcher=$!   # the client's own pid (a backgrounded shell function would give a subshell's)
sleep 0.5
# its own copy of the root disk, made afresh for each run (sparse: about 850 MB of data in 2 GiB)
cp --sparse=always "$guest/root.img" "$data/images/debian/demo.img"
echo "==> creating the example VM from deploy/examples/debian-vm.json" >&2
cli vm create -f deploy/examples/debian-vm.json >/dev/null
# GuestReady: its serial console showed the root shell's prompt (the spec's readyPattern). Under TCG
# (a host whose KVM cannot run a Linux kernel) the boot takes 15 to 40 s.
deadline=$((SECONDS + 300))
until cli vm get demo --output json 2>/dev/null | grep -q '"GuestReady"'; do
  [ "$SECONDS" -lt "$deadline" ] || { cli vm get demo >&2 || true; echo "mpqemu: the example VM is not ready after 300 s" >&2; exit 1; }
  sleep 0.5
done
echo "==> the example VM" >&2
cli vm get demo
echo "==> its serial console" >&2
cli console demo --bytes 2048
echo
if [ -t 0 ] && [ -t 1 ]; then
  echo "==> attaching to its console: try lspci -n (the disk controller is the proxied virtio-blk); Ctrl-] leaves, the VM goes on" >&2
  cli console demo --attach || true
fi
echo "==> serving until Ctrl-C (log: $data/control-plane.log; try: $cp_hint --server $server console demo --attach)" >&2
wait "$server_pid"
