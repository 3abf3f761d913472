#!/usr/bin/env bash
# The main job, for a newcomer: sets up what is missing, builds, starts a node agent with its data in
# ./run, launches the multi-process document's example VM (an lsi53c895a SCSI controller in its own
# QEMU process, proxied into the main QEMU, guest RAM in a memfd, booting a generated disk that prints
# a greeting on the serial console), shows its events and console, and serves until Ctrl-C, which
# stops the example VM and the agent.
set -euo pipefail
cd "$(dirname "$0")/.."

deploy/install-deps.sh
echo "==> building (mvn package)" >&2
mvn -B -q -DskipTests package

data="${MPQEMU_DATA:-$PWD/run}"
sock="$data/agent.sock"
jar=node-agent/target/node-agent.jar
client() { java -jar "$jar" client --agent "unix:$sock" "$@"; }

mkdir -p "$data/images"
java -jar "$jar" boot-image --message "Hello from a multi-process QEMU guest: lsi53c895a served by its own process" "$data/images/boot.img"

echo "==> starting the node agent (state in $data/state, gRPC on unix:$sock)" >&2
# setsid: Ctrl-C reaches this script only, which then stops the VM before the agent
setsid java -jar "$jar" serve --config deploy/agent-demo.json --state-dir "$data/state" \
  --image-root "$data/images" --listen "unix:$sock" 2>"$data/agent.log" &
agent=$!
watcher=
cleanup() {
  trap - INT TERM EXIT
  echo >&2
  echo "==> stopping the example VM and the agent" >&2
  client stop demo --timeout 5 >/dev/null 2>&1 || true
  client delete demo >/dev/null 2>&1 || true
  [ -n "$watcher" ] && kill "$watcher" 2>/dev/null || true
  kill -TERM "$agent" 2>/dev/null || true
  wait "$agent" 2>/dev/null || true
}
trap cleanup INT TERM EXIT

for _ in $(seq 1 100); do
  client info >/dev/null 2>&1 && break
  if ! kill -0 "$agent" 2>/dev/null; then
    echo "mpqemu: the agent did not start; its log:" >&2
    cat "$data/agent.log" >&2
    exit 1
  fi
  sleep 0.2
done

echo "==> node" >&2
client info
echo "==> events (live, one JSON object a line)" >&2
client watch demo &
watcher=$!
sleep 0.5
echo "==> launching the example VM from deploy/examples/lsi-vm.json" >&2
client launch --vm-id demo -f deploy/examples/lsi-vm.json >/dev/null
sleep 1
echo "==> serial console of the example VM" >&2
client console demo
echo "==> the VM runs; its processes:" >&2
ps -o pid,args --no-headers -p "$(client get demo | grep -o '"pid": "[0-9]*"' | grep -o '[0-9]*' | paste -sd,)" | cut -c1-160
echo "==> serving until Ctrl-C (agent log: $data/agent.log)" >&2
wait "$agent"
