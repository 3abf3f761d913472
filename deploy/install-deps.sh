#!/usr/bin/env bash
# Installs what mpqemu needs on a Debian host beyond a JDK 17 and Maven: QEMU with multi-process
# support (Debian's qemu-system-x86 7.2+) and qemu-utils; genisoimage (the agent makes VMs' cloud-init
# seeds with it); openssl (deploy/make-certs.sh) and iproute2 (network namespaces: deploy/local-cluster.sh
# and the multi-host test).
#   --tests   also what only the test suite needs: promtool (`promtool check metrics` on both
#             services' /metrics), curl (the access tests' HTTP client), useradd (their users),
#             PostgreSQL's server (the store tests start their own, as the postgres user the package makes),
#             debootstrap and e2fsprogs (the real Debian guest of the tests) and binutils (the probe guest's
#             assembler check)
# As root it installs what is missing with apt-get; otherwise it prints the exact command to run and fails.
set -euo pipefail

tests=false
for arg in "$@"; do
  case "$arg" in
    --tests) tests=true ;;
    *) echo "usage: $0 [--tests]" >&2; exit 2 ;;
  esac
done

packages=()
command -v qemu-system-x86_64 >/dev/null 2>&1 || packages+=(qemu-system-x86)
command -v qemu-img >/dev/null 2>&1 || packages+=(qemu-utils)
command -v genisoimage >/dev/null 2>&1 || packages+=(genisoimage)
command -v setsid >/dev/null 2>&1 || packages+=(util-linux)
command -v openssl >/dev/null 2>&1 || packages+=(openssl)
command -v ip >/dev/null 2>&1 || packages+=(iproute2)
# promtool comes only with Debian 12's Prometheus server package. mpqemu runs no Prometheus server:
# the package is installed without its recommends, its service is kept from starting, and disabled
server_for_promtool=false
if $tests && ! command -v promtool >/dev/null 2>&1; then
  packages+=(prometheus)
  server_for_promtool=true
fi
# the access tests drive the gRPC and HTTP ports with curl (HTTP/1.1, h2c, gRPC-Web, Host headers)
# and create users and groups (passwd: useradd, groupadd)
if $tests; then
  command -v curl >/dev/null 2>&1 || packages+=(curl)
  command -v useradd >/dev/null 2>&1 || packages+=(passwd)
  # the real-guest tests build a Debian guest (deploy/build-guest.sh) and the probe test assembles its guest
  command -v debootstrap >/dev/null 2>&1 || packages+=(debootstrap)
  command -v mke2fs >/dev/null 2>&1 || packages+=(e2fsprogs)
  command -v as >/dev/null 2>&1 || packages+=(binutils)
fi
# the store tests run a private PostgreSQL server (initdb, pg_ctl) as the postgres user; the package's
# own cluster is kept from starting, as prometheus's service is
server_for_postgres=false
if $tests && { ! compgen -G '/usr/lib/postgresql/*/bin/pg_ctl' >/dev/null || ! getent passwd postgres >/dev/null; }; then
  packages+=(postgresql)
  server_for_postgres=true
fi

for tool in java mvn; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "mpqemu: '$tool' is missing: install a JDK 17 and Maven (apt-get install -y openjdk-17-jdk-headless maven)" >&2
    exit 1
  fi
done

if [ "${#packages[@]}" -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "mpqemu: missing packages; run as root:" >&2
    echo "  apt-get update && apt-get install -y --no-install-recommends ${packages[*]}" >&2
    exit 1
  fi
  echo "mpqemu: installing ${packages[*]} ..." >&2
  export DEBIAN_FRONTEND=noninteractive
  if { $server_for_promtool || $server_for_postgres; } && [ ! -e /usr/sbin/policy-rc.d ]; then
    # keeps package scripts from starting services during this install only
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
    chmod 0755 /usr/sbin/policy-rc.d
    trap 'rm -f /usr/sbin/policy-rc.d' EXIT
  fi
  for attempt in 1 2 3; do
    if apt-get update -qq && apt-get install -y -qq --no-install-recommends "${packages[@]}" >/dev/null; then
      break
    fi
    [ "$attempt" -eq 3 ] && { echo "mpqemu: apt-get failed three times" >&2; exit 1; }
    sleep 5
  done
  if $server_for_promtool && command -v systemctl >/dev/null 2>&1; then
    systemctl disable --now prometheus >/dev/null 2>&1 || true
  fi
  if $server_for_postgres && command -v systemctl >/dev/null 2>&1; then
    systemctl disable --now postgresql >/dev/null 2>&1 || true
  fi
fi

if ! qemu-system-x86_64 -machine help | grep -q '^x-remote'; then
  echo "mpqemu: $(command -v qemu-system-x86_64) has no multi-process support (no x-remote machine);" \
       "Debian 12's qemu-system-x86 (QEMU 7.2) has it" >&2
  exit 1
fi

# Confined VMs (the agent's default) run their main QEMU under a uid of its own, which opens
# /dev/kvm through the kvm group. Debian's udev rules give /dev/kvm 0660 root:kvm; hosts without
# udev (containers, some CI machines) leave it 0600 root:root. Set up what udev would.
if [ -c /dev/kvm ]; then
  kvm_mode=$(stat -c '%a %G' /dev/kvm)
  if ! getent group kvm >/dev/null || [ "$kvm_mode" != "660 kvm" ]; then
    if [ "$(id -u)" -ne 0 ]; then
      echo "mpqemu: /dev/kvm is $kvm_mode; confined VMs need it 0660 root:kvm; run as root:" >&2
      echo "  getent group kvm >/dev/null || groupadd --system kvm; chgrp kvm /dev/kvm; chmod 0660 /dev/kvm" >&2
      exit 1
    fi
    getent group kvm >/dev/null || groupadd --system kvm
    chgrp kvm /dev/kvm
    chmod 0660 /dev/kvm
    echo "mpqemu: /dev/kvm was $kvm_mode, now 0660 root:kvm (what Debian's udev rules set)" >&2
  fi
fi
