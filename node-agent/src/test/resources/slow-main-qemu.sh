#!/bin/bash
# Test double: real QEMU, but the main QEMU (marked MPQEMU_PROCESS=main by the agent) starts DELAY
# seconds late, waiting in a read on a FIFO rather than in a child process, so a test can kill the
# agent in the middle of a launch and nothing but QEMU processes are involved. The FIFO is fd 9: fds
# 3 and 4 are the QMP socket and console log the agent hands the main QEMU.
if [ "${MPQEMU_PROCESS:-}" = main ]; then
  f="${TMPDIR:-/tmp}/mpqemu-slow-main-$$"
  mkfifo -m 600 "$f"
  exec 9<>"$f"
  rm -f "$f"
  read -r -t "${MPQEMU_TEST_MAIN_DELAY:-30}" -u 9 || true
  exec 9<&-
fi
exec qemu-system-x86_64 "$@"
