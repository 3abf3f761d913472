#!/usr/bin/env bash
# Creates the certificates for mpqemu's mutual TLS between the control plane, the node agents and
# the callers of the API: a cluster certificate authority (run once, on a secure machine) and one
# certificate per host, operator or viewer, signed by it. Only needs openssl (3.x).
#
#   make-certs.sh --dir DIR ca [--days N]
#   make-certs.sh --dir DIR control-plane NAME [--ip IP]... [--dns NAME]... [--days N] [--force]
#   make-certs.sh --dir DIR node-agent NAME [--ip IP]... [--dns NAME]... [--days N] [--force]
#   make-certs.sh --dir DIR client NAME [--days N] [--force]
#   make-certs.sh --dir DIR viewer NAME [--days N] [--force]
#
# The CA is DIR/ca.crt + DIR/ca.key; a role certificate is DIR/NAME.crt + DIR/NAME.key. Keys are
# EC P-256, unencrypted PKCS#8 PEM, mode 0600; certificates are mode 0644. Every host gets ca.crt and
# its own NAME.crt/NAME.key; ca.key never leaves the machine that signs.
#
# Role certificates carry the role as a SAN URI (urn:mpqemu:role:control-plane|node-agent|client|
# viewer), subject /O=mpqemu/OU=ROLE/CN=NAME, and for the two server roles DNS:NAME plus the
# --dns/--ip names the peers connect to. On the control plane's API a client certificate is an
# operator (every method) and a viewer certificate a viewer (Get, List, Watch, console reads); the
# caller's identity (a VM's owner, quotas) is cert:NAME. Exit status: 0 success, 1 refused or
# failed, 2 usage error.
set -euo pipefail

# Private keys are created 0600 and DIR 0700 from the start: no window with wider permissions.
umask 077

prog=$(basename "$0")

usage() {
  cat <<EOF
usage: $prog --dir DIR ca [--days N]
       $prog --dir DIR control-plane NAME [--ip IP]... [--dns NAME]... [--days N] [--force]
       $prog --dir DIR node-agent NAME [--ip IP]... [--dns NAME]... [--days N] [--force]
       $prog --dir DIR client NAME [--days N] [--force]
       $prog --dir DIR viewer NAME [--days N] [--force]
       $prog --help

Creates the mpqemu cluster CA (DIR/ca.crt, DIR/ca.key) or a certificate for one role, signed by
that CA (DIR/NAME.crt, DIR/NAME.key). Keys are EC P-256, PKCS#8 PEM, mode 0600.

  ca             the cluster CA
  control-plane  a control plane host (serves the API, calls agents)
  node-agent     a node agent host (NAME must be its node id)
  client         an operator of the API: every method (the CLI, automation)
  viewer         a viewer of the API: GetVm, ListVms, ListNodes, WatchEvents, GetConsoleLog

  --dir DIR    directory holding ca.crt/ca.key and the generated files (created 0700 by 'ca')
  --ip IP      add an IPv4/IPv6 subjectAltName (control-plane, node-agent; repeatable)
  --dns NAME   add a DNS subjectAltName (control-plane, node-agent; repeatable; DNS:NAME is
               always included for these roles)
  --days N     validity in days (default: 3650 for ca, 825 otherwise)
  --force      replace an existing DIR/NAME.crt and DIR/NAME.key (never allowed for ca)

NAME must match ^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\$ and must not be 'ca'.
Copy to each host: ca.crt plus its own NAME.crt and NAME.key. Never copy ca.key.
EOF
}

usage_line() {
  echo "usage: $prog --dir DIR {ca|control-plane NAME|node-agent NAME|client NAME|viewer NAME} [--ip IP]... [--dns NAME]... [--days N] [--force]  (see --help)" >&2
}

# Usage error: message, usage line, exit 2.
die_usage() {
  echo "$prog: error: $*" >&2
  usage_line
  exit 2
}

# Refusal or runtime failure: message, exit 1.
die() {
  echo "$prog: error: $*" >&2
  exit 1
}

command -v openssl >/dev/null 2>&1 || die "openssl not found in PATH"

# ---- validation -------------------------------------------------------------------------------

octet='(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])'
ipv4_re="^($octet\\.){3}$octet\$"
hex_groups_re='^[0-9A-Fa-f]{1,4}(:[0-9A-Fa-f]{1,4})*$'
name_re='^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$'
label='[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?'
hostname_re="^$label(\\.$label)*\$"

is_ipv4() {
  [[ $1 =~ $ipv4_re ]]
}

# Number of colon-separated groups in a string matching hex_groups_re.
count_groups() {
  local colons=${1//[^:]/}
  echo $(( ${#colons} + 1 ))
}

# IPv6 literal without zone id: 8 groups, or fewer with one '::'; optional dotted IPv4 tail.
is_ipv6() {
  local s=$1 head tail n
  [[ $s == *:* && $s =~ ^[0-9A-Fa-f:.]+$ ]] || return 1
  if [[ $s == *.* ]]; then
    is_ipv4 "${s##*:}" || return 1
    s="${s%:*}:0:0"  # the IPv4 tail counts as two groups
  fi
  if [[ $s == *::* ]]; then
    [[ $s != *::*::* && $s != *:::* ]] || return 1
    head=${s%%::*}
    tail=${s#*::}
    n=0
    if [[ -n $head ]]; then
      [[ $head =~ $hex_groups_re ]] || return 1
      n=$(( n + $(count_groups "$head") ))
    fi
    if [[ -n $tail ]]; then
      [[ $tail =~ $hex_groups_re ]] || return 1
      n=$(( n + $(count_groups "$tail") ))
    fi
    (( n <= 7 ))
  else
    [[ $s =~ $hex_groups_re ]] && (( $(count_groups "$s") == 8 ))
  fi
}

is_hostname() {
  local h=$1
  if (( ${#h} > 253 )) || ! [[ $h =~ $hostname_re ]]; then
    return 1
  fi
  # an all-numeric last label would look like (and be confused with) an IPv4 address
  [[ ! ${h##*.} =~ ^[0-9]+$ ]]
}

# ---- arguments --------------------------------------------------------------------------------

dir=
days=
force=0
cmd=
name=
ips=()
dnses=()

need_value() {
  [[ $# -ge 2 && -n $2 ]] || die_usage "$1 needs a value"
}

while (( $# > 0 )); do
  arg=$1
  # accept --opt=value as well as --opt value
  if [[ $arg == --*=* ]]; then
    set -- "${arg%%=*}" "${arg#*=}" "${@:2}"
    arg=$1
  fi
  case $arg in
    -h|--help) usage; exit 0 ;;
    --dir) need_value "$@"; dir=$2; shift 2 ;;
    --days) need_value "$@"; days=$2; shift 2 ;;
    --ip) need_value "$@"; ips+=("$2"); shift 2 ;;
    --dns) need_value "$@"; dnses+=("$2"); shift 2 ;;
    --force) force=1; shift ;;
    -*) die_usage "unknown option: $arg" ;;
    *)
      if [[ -z $cmd ]]; then
        cmd=$arg
      elif [[ -z $name && $cmd != ca ]]; then
        name=$arg
      else
        die_usage "unexpected argument: $arg"
      fi
      shift
      ;;
  esac
done

[[ -n $cmd ]] || die_usage "missing command (ca, control-plane, node-agent, client or viewer)"
[[ -n $dir ]] || die_usage "missing --dir DIR"

case $cmd in
  ca)
    [[ -z $name ]] || die_usage "ca takes no NAME"
    (( ${#ips[@]} == 0 && ${#dnses[@]} == 0 )) || die_usage "--ip/--dns are not valid for ca"
    (( force == 0 )) || die_usage "--force is not supported for ca: an existing CA is never replaced (move it away first)"
    : "${days:=3650}"
    ;;
  control-plane|node-agent|client|viewer)
    [[ -n $name ]] || die_usage "$cmd needs a NAME"
    [[ $name =~ $name_re ]] || die_usage "invalid NAME '$name': must match ^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\$ (lowercase letters, digits, inner hyphens, at most 63 characters)"
    [[ $name != ca ]] || die_usage "NAME 'ca' is reserved for the CA's own files"
    if [[ $cmd == client || $cmd == viewer ]] && (( ${#ips[@]} + ${#dnses[@]} > 0 )); then
      die_usage "--ip/--dns are not valid for $cmd certificates"
    fi
    : "${days:=825}"
    ;;
  *) die_usage "unknown command: $cmd (expected ca, control-plane, node-agent, client or viewer)" ;;
esac

if ! [[ $days =~ ^[1-9][0-9]{0,4}$ ]] || (( days > 36500 )); then
  die_usage "invalid --days '$days': must be a whole number from 1 to 36500"
fi

for ip in ${ips[@]+"${ips[@]}"}; do
  is_ipv4 "$ip" || is_ipv6 "$ip" || die_usage "invalid --ip '$ip': not an IPv4 or IPv6 literal"
done
for dns in ${dnses[@]+"${dnses[@]}"}; do
  is_hostname "$dns" || die_usage "invalid --dns '$dns': not a valid hostname (letters, digits, inner hyphens, dot-separated labels of at most 63 characters, no wildcards, last label not all digits)"
done

# ---- temporary files (never in DIR) -----------------------------------------------------------

cfg=
errf=
installed=()
cleanup() {
  local rc=$?
  [[ -z $cfg ]] || rm -f -- "$cfg"
  [[ -z $errf ]] || rm -f -- "$errf"
  if (( rc != 0 )); then
    # remove the files of an installation that failed halfway
    local f
    for f in ${installed[@]+"${installed[@]}"}; do rm -f -- "$f"; done
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM HUP

cfg=$(mktemp "${TMPDIR:-/tmp}/mpqemu-certs.XXXXXXXXXX") || die "cannot create a temporary file"
errf=$(mktemp "${TMPDIR:-/tmp}/mpqemu-certs-err.XXXXXXXXXX") || die "cannot create a temporary file"

# Writes the openssl config: an empty [req] DN (the subject comes from -subj), and the extensions.
write_config() {
  local role=$1 eku=$2 i=0 j=0 entry
  {
    echo "[ req ]"
    echo "distinguished_name = req_dn"
    echo "string_mask = utf8only"
    echo "[ req_dn ]"
    echo "[ v3_ca ]"
    echo "basicConstraints = critical, CA:TRUE, pathlen:0"
    echo "keyUsage = critical, keyCertSign, cRLSign"
    echo "subjectKeyIdentifier = hash"
    if [[ -n $role ]]; then
      echo "[ v3_role ]"
      echo "basicConstraints = critical, CA:FALSE"
      echo "keyUsage = critical, digitalSignature"
      echo "extendedKeyUsage = $eku"
      echo "subjectKeyIdentifier = hash"
      echo "authorityKeyIdentifier = keyid:always"
      echo "subjectAltName = @alt_names"
      echo "[ alt_names ]"
      echo "URI.1 = urn:mpqemu:role:$role"
      for entry in ${sans_dns[@]+"${sans_dns[@]}"}; do
        i=$(( i + 1 )); echo "DNS.$i = $entry"
      done
      for entry in ${sans_ip[@]+"${sans_ip[@]}"}; do
        j=$(( j + 1 )); echo "IP.$j = $entry"
      done
    fi
  } >"$cfg"
}

new_key() {
  openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -pkeyopt ec_param_enc:named_curve \
    2>/dev/null || die "openssl could not generate an EC P-256 key"
}

serial() {
  echo "0x$(openssl rand -hex 16)"
}

# install_file PATH MODE CONTENT: exclusive create (noclobber = O_EXCL), then the exact mode.
install_file() {
  local path=$1 mode=$2 content=$3
  ( set -C; printf '%s\n' "$content" >"$path" ) 2>/dev/null || die "cannot create $path"
  installed+=("$path")
  chmod "$mode" -- "$path" || die "cannot chmod $path"
}

# ---- ca ---------------------------------------------------------------------------------------

if [[ $cmd == ca ]]; then
  [[ ! -e $dir/ca.key && ! -L $dir/ca.key ]] || die "$dir/ca.key already exists: refusing to replace the cluster CA (every certificate it signed would stop verifying); move it away first if you really mean to"
  [[ ! -e $dir/ca.crt && ! -L $dir/ca.crt ]] || die "$dir/ca.crt already exists (without ca.key): refusing to replace it; move it away first"
  mkdir -p -- "$dir" || die "cannot create directory $dir"
  dir=$(cd -- "$dir" && pwd -P)
  write_config "" ""
  key_pem=$(new_key)
  crt_pem=$(openssl req -x509 -new -config "$cfg" -extensions v3_ca -sha256 \
      -key <(printf '%s\n' "$key_pem") -subj "/O=mpqemu/CN=mpqemu cluster CA" \
      -days "$days" -set_serial "$(serial)" 2>"$errf") \
    || die "openssl could not create the CA certificate: $(cat -- "$errf")"
  install_file "$dir/ca.key" 600 "$key_pem"
  install_file "$dir/ca.crt" 644 "$crt_pem"
  echo "wrote $dir/ca.crt"
  echo "wrote $dir/ca.key"
  exit 0
fi

# ---- control-plane / node-agent / client / viewer ----------------------------------------------

[[ -d $dir ]] || die "directory $dir does not exist; create the CA first with: $prog --dir $dir ca"
dir=$(cd -- "$dir" && pwd -P)
for f in ca.crt ca.key; do
  [[ -f $dir/$f ]] || die "CA not found: $dir/$f is missing; create the CA first with: $prog --dir $dir ca (or point --dir at the directory holding ca.crt and ca.key)"
done
ca_crt=$dir/ca.crt
ca_key=$dir/ca.key

key_path=$dir/$name.key
crt_path=$dir/$name.crt
if (( force == 0 )); then
  [[ ! -e $key_path && ! -L $key_path ]] || die "$key_path already exists: refusing to overwrite it (use --force to replace $name.key and $name.crt)"
  [[ ! -e $crt_path && ! -L $crt_path ]] || die "$crt_path already exists: refusing to overwrite it (use --force to replace $name.key and $name.crt)"
fi

# The CA must be usable: cert and key belong together, and the cert has not expired.
ca_pub=$(openssl x509 -in "$ca_crt" -noout -pubkey 2>/dev/null) || die "$ca_crt is not a readable PEM certificate"
ca_key_pub=$(openssl pkey -in "$ca_key" -pubout 2>/dev/null) || die "$ca_key is not a readable unencrypted private key"
[[ $ca_pub == "$ca_key_pub" ]] || die "$ca_key does not belong to $ca_crt"
openssl x509 -in "$ca_crt" -noout -checkend 0 >/dev/null 2>&1 || die "the CA certificate $ca_crt has expired"
if ! openssl x509 -in "$ca_crt" -noout -checkend $(( days * 86400 )) >/dev/null 2>&1; then
  echo "$prog: warning: the CA certificate expires before this certificate would ($days days); the certificate stops verifying when the CA expires" >&2
fi

# subjectAltNames, without duplicates
declare -A seen=()
sans_dns=()
sans_ip=()
if [[ $cmd == control-plane || $cmd == node-agent ]]; then
  for dns in "$name" ${dnses[@]+"${dnses[@]}"}; do
    key=dns:${dns,,}
    [[ -n ${seen[$key]:-} ]] && continue
    seen[$key]=1
    sans_dns+=("$dns")
  done
  for ip in ${ips[@]+"${ips[@]}"}; do
    key=ip:${ip,,}
    [[ -n ${seen[$key]:-} ]] && continue
    seen[$key]=1
    sans_ip+=("$ip")
  done
fi

if [[ $cmd == client || $cmd == viewer ]]; then eku=clientAuth; else eku="serverAuth, clientAuth"; fi
write_config "$cmd" "$eku"

key_pem=$(new_key)
# The CSR only exists in the pipe; extensions come from our config alone (none copied from the CSR).
crt_pem=$(openssl req -new -config "$cfg" -sha256 -key <(printf '%s\n' "$key_pem") \
      -subj "/O=mpqemu/OU=$cmd/CN=$name" 2>"$errf" \
    | openssl x509 -req -sha256 -CA "$ca_crt" -CAkey "$ca_key" -set_serial "$(serial)" \
      -days "$days" -extfile "$cfg" -extensions v3_role 2>>"$errf") \
  || die "openssl could not create the certificate: $(cat -- "$errf")"
openssl verify -CAfile "$ca_crt" <(printf '%s\n' "$crt_pem") >/dev/null 2>&1 \
  || die "the new certificate does not verify against $ca_crt"

if (( force == 1 )); then
  rm -f -- "$key_path" "$crt_path" || die "cannot remove the old $key_path / $crt_path"
fi
install_file "$key_path" 600 "$key_pem"
install_file "$crt_path" 644 "$crt_pem"
echo "wrote $crt_path"
echo "wrote $key_path"
