#!/usr/bin/env bash
# A whole mpqemu fleet on one machine, for trying it out: one network namespace per "host" (the
# control plane mpq-cp, the agents mpq-host1 and mpq-host2), each with a veth link to a bridge in
# its own namespace mpq-switch. Addresses and routes exist inside the namespaces only: the root
# namespace is never touched. Services run under mutual TLS with fresh certificates; the CLI in the
# root namespace reaches the control plane over its UNIX socket (the file system is shared).
#
#   local-cluster.sh up      as root: build the jars if missing, certificates, namespaces, start the
#                            control plane and two agents, launch one VM on each host, show status
#   local-cluster.sh up --ha the same with a highly available control plane: PostgreSQL (run as the
#                            postgres user, TLS with a certificate of the cluster CA) in mpq-db, and two
#                            control planes on it, cp-a in mpq-cp and cp-b in mpq-cp2; one leads
#   local-cluster.sh status  node list and vm list (and the control planes, with --ha)
#   local-cluster.sh down    stop everything it started, delete the namespaces and the work dir
#
# Env: MPQEMU_LOCAL_DIR (work dir, default /tmp/mpqemu-local-cluster), MPQEMU_LOCAL_SUBNET (first
# three octets, default 10.77.0: .1 is mpq-cp, .2 mpq-host1, .3 mpq-host2, .4 mpq-cp2, .5 mpq-db, a /24).
# With --ha, PostgreSQL's data directory is MPQEMU_LOCAL_DIR-pg (the postgres user cannot enter the
# work dir), made with mkdir (which fails if anyone made it first) and removed by `down`.
#
# The work dir holds the cluster's private keys, and its default path is predictable in a directory
# anyone can write to: a local user could create it first and read what root writes there. So `up`
# creates it itself (mode 0700), or uses an existing one only if it is a real directory (not a link)
# owned by root with mode 0700, and empty; `down` and `status` trust nothing in a directory that is
# not. A directory someone else made at the default path must be removed, or another one chosen.
set -euo pipefail

prog=$(basename "$0")
root=$(cd "$(dirname "$0")/.." && pwd)
dir=${MPQEMU_LOCAL_DIR:-/tmp/mpqemu-local-cluster}
[[ $dir == /* ]] || dir="$PWD/$dir"   # absolute: it is matched in command lines and socket paths
dir=${dir%/}
[ -n "$dir" ] || { echo "$(basename "$0"): error: MPQEMU_LOCAL_DIR must not be /" >&2; exit 2; }
net=${MPQEMU_LOCAL_SUBNET:-10.77.0}
marker="$dir/.mpqemu-local-cluster"   # down only deletes a work dir that carries this file
cp_jar="$root/dist/target/control-plane.jar"
agent_jar="$root/node-agent/target/node-agent.jar"
server="unix:$dir/cp.sock"
hosts=(host1 host2)
namespaces=(mpq-cp mpq-host1 mpq-host2 mpq-cp2 mpq-db mpq-switch)
pgdir="$dir-pg"
ha=false

say() { echo "==> $*" >&2; }
die() { echo "$prog: error: $*" >&2; exit 1; }
# MPQEMU_LOCAL_CLASSPATH (for the tests): run the main classes from this class path instead of the jars,
# which Maven makes only after the tests have run
if [ -n "${MPQEMU_LOCAL_CLASSPATH:-}" ]; then
  cp_cmd=(java -cp "$MPQEMU_LOCAL_CLASSPATH" io.mpqemu.dist.ControlPlaneJar)
  agent_cmd=(java -cp "$MPQEMU_LOCAL_CLASSPATH" io.mpqemu.agent.NodeAgentMain)
else
  cp_cmd=(java -jar "$cp_jar")
  agent_cmd=(java -jar "$agent_jar")
fi
cli() { "${cp_cmd[@]}" --server "$server" "$@"; }
ns_exists() { [ -e "/var/run/netns/$1" ]; }
# Only root can have made it, and only root can read or change what is in it.
dir_is_private() { [ -d "$dir" ] && [ ! -L "$dir" ] && [ "$(stat -c %u:%a "$dir")" = 0:700 ]; }

usage() { echo "usage: $prog {up [--ha]|status|down}  (env: MPQEMU_LOCAL_DIR, MPQEMU_LOCAL_SUBNET)" >&2; exit 2; }
[ $# -ge 1 ] && [ $# -le 2 ] || usage
cmd=$1
case $cmd in up | status | down) ;; *) usage ;; esac
if [ $# -eq 2 ]; then
  [ "$cmd $2" = "up --ha" ] || usage
  ha=true
fi

if [ "$(id -u)" -ne 0 ]; then
  echo "$prog: needs root (network namespaces); run:" >&2
  echo "  sudo MPQEMU_LOCAL_DIR=$dir MPQEMU_LOCAL_SUBNET=$net $root/deploy/$prog $cmd" >&2
  exit 1
fi
[[ $net =~ ^([0-9]{1,3}\.){2}[0-9]{1,3}$ ]] || die "MPQEMU_LOCAL_SUBNET must be three octets like 10.77.0, not '$net'"

# Pids to stop: every process in our namespaces (the JVMs and their QEMU children), and, if the
# work dir is ours, every process whose command line contains it (a VM's QEMU outlives its agent).
pids_to_stop() {
  local p line ns
  for ns in "${namespaces[@]}"; do
    ns_exists "$ns" && ip netns pids "$ns"
  done
  dir_is_private && [ -e "$marker" ] || return 0
  for p in /proc/[0-9]*; do
    p=${p#/proc/}
    [ "$p" = $$ ] && continue
    line=$(tr '\0' ' ' 2>/dev/null <"/proc/$p/cmdline") || continue
    if [[ $line == *"$dir/"* ]]; then
      echo "$p"
    # a confined QEMU names no path and lives in a network namespace of its own: its agent's marker
    # in its environment (MPQEMU_AGENT=<state dir>) finds it
    elif tr '\0' '\n' 2>/dev/null <"/proc/$p/environ" | grep -q "^MPQEMU_AGENT=$dir/"; then
      echo "$p"
    fi
  done
  return 0
}

down() {
  local pids i
  pids=$(pids_to_stop | sort -u)
  if [ -n "$pids" ]; then
    say "stopping $(echo "$pids" | wc -w) processes (the JVMs and QEMU)"
    # shellcheck disable=SC2086 # one pid a word
    kill -TERM $pids 2>/dev/null || true
    for i in $(seq 1 50); do               # 10 s for a clean stop, then SIGKILL
      pids=$(pids_to_stop | sort -u)
      [ -z "$pids" ] && break
      # shellcheck disable=SC2086
      [ "$i" -eq 50 ] && { kill -KILL $pids 2>/dev/null || true; }
      sleep 0.2
    done
  fi
  for ns in "${namespaces[@]}"; do
    ns_exists "$ns" && { say "deleting namespace $ns"; ip netns del "$ns"; }
  done
  if dir_is_private && [ -e "$marker" ]; then
    if [ -e "$dir/.ha" ] && [ -d "$pgdir" ] && [ ! -L "$pgdir" ]; then
      say "removing $pgdir"; rm -rf "$pgdir"
    fi
    say "removing $dir"; rm -rf "$dir"
  elif [ -e "$dir" ] || [ -L "$dir" ]; then
    echo "$prog: $dir was not made by $prog (not root's with mode 0700, or no $(basename "$marker")): left alone" >&2
  fi
  say "down"
}

status() {
  dir_is_private && [ -S "$dir/cp.sock" ] || die "no local cluster in $dir (run: $prog up)"
  if [ -e "$dir/.ha" ]; then
    say "control planes"; cli control-planes
  fi
  say "nodes"; cli node list
  say "VMs"; cli vm list
}

# start NAME NAMESPACE ARGS...: run a service in the background, log to logs/NAME.log.
start() {
  local name=$1 ns=$2; shift 2
  setsid nohup ip netns exec "$ns" "$@" >"$dir/logs/$name.log" 2>&1 </dev/null &
  echo $! >"$dir/$name.pid"
}

# wait_for NAME TEXT: wait up to 90 s for TEXT in the service's log, or show the log and fail.
wait_for() {
  local name=$1 text=$2 pid i
  pid=$(cat "$dir/$name.pid")
  for i in $(seq 1 450); do
    grep -qF "$text" "$dir/logs/$name.log" && return 0
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.2
  done
  echo "$prog: $name did not log '$text' (pid $pid); the tail of $dir/logs/$name.log:" >&2
  tail -n 30 "$dir/logs/$name.log" >&2
  exit 1
}

# cluster_file NAME IP: the cluster file of one host.
cluster_file() {
  local members="\"$net.1:5701\",\"$net.2:5701\",\"$net.3:5701\""
  if $ha; then members="$members,\"$net.4:5701\""; fi
  cat >"$dir/$1.json" <<EOF
{"name":"local","host":"$2","membershipPort":5701,"busPort":5702,
 "members":[$members],"memberTimeoutSeconds":10,"mergeDelaySeconds":5,
 "tls":{"ca":"$dir/pki/ca.crt","cert":"$dir/pki/$1.crt","key":"$dir/pki/$1.key"}}
EOF
}

# postgres_up: PostgreSQL in mpq-db ($net.5), as the postgres user, TLS only from the network, a role
# and a database of the control planes' own, its password in $dir/store.pw.
postgres_up() {
  local bin
  bin=$(find /usr/lib/postgresql -maxdepth 2 -name bin -type d 2>/dev/null | sort -V | tail -n 1)
  [ -n "$bin" ] && [ -x "$bin/initdb" ] || die "PostgreSQL is missing: run $root/deploy/install-deps.sh --tests as root (it installs the server and keeps Debian's own cluster from starting)"
  id postgres >/dev/null 2>&1 || die "no postgres user: run $root/deploy/install-deps.sh --tests as root"
  mkdir -m 0700 "$pgdir" || die "$pgdir exists: remove it or choose another MPQEMU_LOCAL_DIR"
  chown postgres: "$pgdir"
  say "PostgreSQL in mpq-db ($net.5:5432): data in $pgdir, run as postgres, TLS with a certificate of the cluster CA"
  runuser -u postgres -- "$bin/initdb" -D "$pgdir/data" -U postgres --auth-local=peer --auth-host=reject \
    -E UTF8 >"$dir/logs/initdb.log" 2>&1 || { cat "$dir/logs/initdb.log" >&2; die "initdb failed"; }
  # its server certificate, for sslmode=verify-full: signed by the cluster CA, naming $net.5
  openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/O=mpqemu/CN=mpq-db" \
    -keyout "$pgdir/data/server.key" -out "$dir/pki/db.csr" 2>/dev/null
  openssl x509 -req -in "$dir/pki/db.csr" -CA "$dir/pki/ca.crt" -CAkey "$dir/pki/ca.key" -days 30 -sha256 \
    -extfile <(printf 'subjectAltName=IP:%s\nextendedKeyUsage=serverAuth\n' "$net.5") \
    -out "$pgdir/data/server.crt" 2>/dev/null
  chown postgres: "$pgdir/data/server.key" "$pgdir/data/server.crt"
  chmod 0600 "$pgdir/data/server.key"
  cat >>"$pgdir/data/postgresql.conf" <<EOF
listen_addresses = '$net.5'
port = 5432
unix_socket_directories = '$pgdir'
ssl = on
password_encryption = 'scram-sha-256'
EOF
  cat >"$pgdir/data/pg_hba.conf" <<EOF
local   all     postgres                peer
hostssl mpqemu  mpqemu    $net.0/24     scram-sha-256
EOF
  setsid ip netns exec mpq-db runuser -u postgres -- "$bin/pg_ctl" -D "$pgdir/data" -l "$pgdir/server.log" -w \
    start >/dev/null || { tail -n 20 "$pgdir/server.log" >&2; die "PostgreSQL did not start"; }
  (umask 077 && openssl rand -hex 24 >"$dir/store.pw")
  runuser -u postgres -- "$bin/psql" -h "$pgdir" -q -v ON_ERROR_STOP=1 -d postgres \
    -c "CREATE ROLE mpqemu LOGIN PASSWORD '$(cat "$dir/store.pw")'" -c "CREATE DATABASE mpqemu OWNER mpqemu" \
    >/dev/null || die "could not create the mpqemu role and database"
}

# control_plane ID NAMESPACE IP: one of the control planes sharing the database (--ha).
control_plane() {
  local id=$1 ns=$2 ip=$3
  cluster_file "$id" "$ip"
  start "$id" "$ns" "${cp_cmd[@]}" serve --cluster "$dir/$id.json" --data-dir "$dir/$id" \
    --listen "tcp:$ip:7000" --listen "unix:$dir/$id.sock" --not-ready-after 5 --lost-after 15 \
    --store "postgresql://$net.5:5432/mpqemu?user=mpqemu&sslmode=verify-full&sslrootcert=$dir/pki/ca.crt" \
    --store-password-file "$dir/store.pw" --control-plane-id "$id"
}

up() {
  local t0=$SECONDS n i ns node vm json
  for ns in "${namespaces[@]}"; do
    ns_exists "$ns" && die "a local cluster is up (namespace $ns exists): run '$prog down' first"
  done
  if [ -e "$dir" ] || [ -L "$dir" ]; then
    dir_is_private || die "$dir exists and is not a directory of root's with mode 0700 (someone else may have made it): remove it or choose another MPQEMU_LOCAL_DIR"
    [ -e "$marker" ] && die "$dir is left from an earlier run: run '$prog down' first"
    [ -n "$(ls -A "$dir")" ] && die "$dir exists and is not empty: choose another MPQEMU_LOCAL_DIR"
  fi
  command -v qemu-system-x86_64 >/dev/null || die "QEMU is missing: run $root/deploy/install-deps.sh as root"
  for tool in java openssl ip setsid; do command -v $tool >/dev/null || die "'$tool' is missing"; done
  if [ -z "${MPQEMU_LOCAL_CLASSPATH:-}" ] && { [ ! -f "$cp_jar" ] || [ ! -f "$agent_jar" ]; }; then
    say "building the jars (mvn package)"
    # (maven -q still writes colour resets, even with -B: strip them)
    (cd "$root" && mvn -B -q -DskipTests package 2>&1) | sed 's/\x1b\[[0-9;]*m//g' >&2
  fi
  if [ ! -e "$dir" ]; then
    mkdir -p "$(dirname "$dir")"
    mkdir -m 0700 "$dir"   # fails, rather than use it, if someone made it since the check above
  fi
  mkdir -p "$dir/logs" "$dir/specs" && touch "$marker"
  trap '[ $? -eq 0 ] || echo "$prog: up failed; logs in $dir/logs; clean up with: $prog down" >&2' EXIT

  say "certificates in $dir/pki"
  "$root/deploy/make-certs.sh" --dir "$dir/pki" ca >/dev/null
  if $ha; then
    touch "$dir/.ha"
    "$root/deploy/make-certs.sh" --dir "$dir/pki" control-plane cp-a --ip "$net.1" >/dev/null
    "$root/deploy/make-certs.sh" --dir "$dir/pki" control-plane cp-b --ip "$net.4" >/dev/null
  else
    "$root/deploy/make-certs.sh" --dir "$dir/pki" control-plane cp --ip "$net.1" >/dev/null
  fi
  "$root/deploy/make-certs.sh" --dir "$dir/pki" node-agent host1 --ip "$net.2" >/dev/null
  "$root/deploy/make-certs.sh" --dir "$dir/pki" node-agent host2 --ip "$net.3" >/dev/null
  "$root/deploy/make-certs.sh" --dir "$dir/pki" client admin >/dev/null

  # Network: a bridge in mpq-switch, one veth pair per host created straight into the namespaces.
  say "namespaces ${namespaces[*]} on $net.0/24"
  ip netns add mpq-switch
  ip -n mpq-switch link add br0 type bridge
  ip -n mpq-switch link set br0 up
  ip -n mpq-switch link set lo up
  n=1
  local hostns=(mpq-cp mpq-host1 mpq-host2)
  if $ha; then hostns+=(mpq-cp2 mpq-db); fi
  for ns in "${hostns[@]}"; do
    ip netns add "$ns"
    ip -n mpq-switch link add "sw-${ns#mpq-}" type veth peer name eth0 netns "$ns"
    ip -n mpq-switch link set "sw-${ns#mpq-}" master br0 up
    ip -n "$ns" addr add "$net.$n/24" dev eth0
    ip -n "$ns" link set eth0 up
    ip -n "$ns" link set lo up
    n=$((n + 1))
  done

  if $ha; then
    postgres_up
    say "starting the control planes cp-a in mpq-cp ($net.1) and cp-b in mpq-cp2 ($net.4), on PostgreSQL"
    control_plane cp-a mpq-cp "$net.1"
    wait_for cp-a "control plane ready"   # the first to start leads
    ln -s cp-a.sock "$dir/cp.sock"       # the CLI's server; either would do: a standby forwards writes
    control_plane cp-b mpq-cp2 "$net.4"
  else
    say "starting the control plane in mpq-cp ($net.1)"
    cluster_file cp "$net.1"
    start cp mpq-cp "${cp_cmd[@]}" serve --cluster "$dir/cp.json" --data-dir "$dir/cp" \
      --listen "tcp:$net.1:7000" --listen "$server" --not-ready-after 5 --lost-after 15
  fi
  say "boot images web-1.img and web-2.img in both image roots (a VM may land on either host)"
  for node in "${hosts[@]}"; do   # while the control plane starts
    mkdir -p "$dir/$node/state" "$dir/$node/images"
    for vm in web-1 web-2; do
      "${agent_cmd[@]}" boot-image --message "Hello from $vm, booted on $node" "$dir/$node/images/$vm.img" >/dev/null
    done
  done
  if $ha; then wait_for cp-b "control plane ready"; else wait_for cp "control plane ready"; fi
  n=2
  for node in "${hosts[@]}"; do
    say "starting the agent $node in mpq-$node ($net.$n)"
    cluster_file "$node" "$net.$n"
    # two agents on one machine: each gives its QEMU processes uids of its own
    start "$node" "mpq-$node" "${agent_cmd[@]}" serve --cluster "$dir/$node.json" --node-id "$node" \
      --listen "tcp:$net.$n:7070" --state-dir "$dir/$node/state" --image-root "$dir/$node/images" \
      --accelerator auto --memory-mib 1024 --uid-range "$((2000000000 + (n - 2) * 65536))-$((2000065535 + (n - 2) * 65536))"
    n=$((n + 1))
  done
  for node in "${hosts[@]}"; do wait_for "$node" "agent ready"; done

  say "waiting for both nodes to be READY"
  for i in $(seq 1 450); do
    [ "$(cli node list -o json 2>/dev/null | grep -c NODE_STATE_READY)" -ge 2 ] && break
    [ "$i" -eq 450 ] && { cli node list >&2 || true; die "the nodes did not become READY in 90 s"; }
    sleep 0.2
  done

  for vm in web-1 web-2; do
    say "creating $vm"
    cat >"$dir/specs/$vm.json" <<EOF
{"name":"$vm","memoryMib":64,"vcpus":1,"machine":"pc","devices":[{"id":"lsi0","driver":"lsi53c895a",
 "disks":[{"id":"boot","image":"$vm.img","format":"raw","scsiId":0}]}],"restartPolicy":"NEVER"}
EOF
    cli vm create -f "$dir/specs/$vm.json" >/dev/null
  done
  declare -A placed   # VM name -> the node the scheduler put it on
  for vm in web-1 web-2; do
    for i in $(seq 1 450); do
      json=$(cli vm get "$vm" -o json 2>/dev/null) || json=
      [[ $json == *PHASE_RUNNING* ]] && break
      [ "$i" -eq 450 ] && { cli vm get "$vm" >&2 || true; die "$vm is not RUNNING after 90 s"; }
      sleep 0.2
    done
    placed[$vm]=$(sed -n 's/^ *"node": *"\([^"]*\)".*/\1/p' <<<"$json")
  done
  [ "${placed[web-1]}" != "${placed[web-2]}" ] || echo "$prog: warning: both VMs landed on ${placed[web-1]}" >&2
  sleep 1   # let the guests print their line
  for vm in web-1 web-2; do
    say "$vm runs on ${placed[$vm]}; its serial console:"
    cli console "$vm"
  done

  status
  local tls=(--tls-ca "$dir/pki/ca.crt" --tls-cert "$dir/pki/admin.crt" --tls-key "$dir/pki/admin.key")
  if $ha; then
    say "cp-a leads; cp-b stands by and forwards writes to it. A failover (about 5 s):"
    echo "  kill -9 \$(cat $dir/cp-a.pid); sleep 6; java -jar $cp_jar --server unix:$dir/cp-b.sock control-planes" >&2
  fi
  say "the same over mutual TLS, from inside mpq-cp:"
  echo "  ip netns exec mpq-cp java -jar $cp_jar vm list --server tcp:$net.1:7000 ${tls[*]}" >&2
  ip netns exec mpq-cp "${cp_cmd[@]}" vm list --server "tcp:$net.1:7000" "${tls[@]}"
  say "up in $((SECONDS - t0)) s; logs in $dir/logs; next: $prog status | down, or"
  echo "  java -jar $cp_jar --server $server console web-1" >&2
}

"$cmd"
