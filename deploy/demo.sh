#!/usr/bin/env bash
# The main job, for a newcomer: sets up what is missing, builds, starts the control plane with an
# embedded node agent for this host (data in ./run), creates the multi-process document's example VM
# from deploy/examples/lsi-vm.json (an lsi53c895a SCSI controller with a disk, in its own QEMU process,
# proxied into the main QEMU, guest RAM in a memfd, booting a generated disk that prints a greeting on
# the serial console), follows its events, shows its console, and serves until Ctrl-C, which deletes
# the example VM and stops the control plane.
set -euo pipefail
cd "$(dirname "$0")/.."

deploy/install-deps.sh
echo "==> building (mvn package)" >&2
mvn -B -q -DskipTests package

data="${MPQEMU_DATA:-$PWD/run}"
server="unix:$data/control-plane.sock"
cp_jar=dist/target/control-plane.jar
cli() { java -jar "$cp_jar" --server "$server" "$@"; }

mkdir -p "$data/images"
java -jar node-agent/target/node-agent.jar boot-image \
  --message "Hello from a multi-process QEMU guest: its disk is served by an lsi53c895a in another process" \
  "$data/images/boot.img"

echo "==> starting the control plane with an embedded node agent (data in $data)" >&2
# setsid: Ctrl-C reaches this script only, which then deletes the VM before stopping the server
setsid java -jar "$cp_jar" serve --embedded-agent --data-dir "$data" --listen "$server" 2>"$data/control-plane.log" &
server_pid=$!
watcher=
cleanup() {
  trap - INT TERM EXIT
  echo >&2
  echo "==> deleting the example VM and stopping the control plane" >&2
  cli vm delete demo >/dev/null 2>&1 || true
  [ -n "$watcher" ] && kill "$watcher" 2>/dev/null || true
  kill -TERM "$server_pid" 2>/dev/null || true
  wait "$server_pid" 2>/dev/null || true
}
trap cleanup INT TERM EXIT

for _ in $(seq 1 150); do
  cli node list 2>/dev/null | grep -q READY && break
  if ! kill -0 "$server_pid" 2>/dev/null; then
    echo "mpqemu: the control plane did not start; its log:" >&2
    cat "$data/control-plane.log" >&2
    exit 1
  fi
  sleep 0.2
done
echo "==> nodes" >&2
cli node list

from=$(cli events --output json 2>/dev/null | tail -n 1 | sed -n 's/.*"seq": *"\([0-9]*\)".*/\1/p')
echo "==> events (live)" >&2
java -jar "$cp_jar" --server "$server" events --follow --from "${from:-0}" &
watcher=$!   # the client's own pid (a backgrounded shell function would give a subshell's)
sleep 0.5
echo "==> creating the example VM from deploy/examples/lsi-vm.json" >&2
cli vm create -f deploy/examples/lsi-vm.json >/dev/null
for _ in $(seq 1 100); do
  cli vm get demo --output json 2>/dev/null | grep -q '"PHASE_RUNNING"' && break
  sleep 0.2
done
sleep 1
echo "==> the example VM" >&2
cli vm get demo
echo "==> its serial console" >&2
cli console demo
echo "==> serving until Ctrl-C (log: $data/control-plane.log; try: java -jar $cp_jar --server $server vm list)" >&2
wait "$server_pid"
