#!/bin/bash
# Test double: real QEMU, but the main QEMU (marked MPQEMU_PROCESS=main by the agent) starts DELAY
# seconds late, waiting in a read on a FIFO rather than in a child process, so a test can kill the
# agent in the middle of a launch and nothing but QEMU processes are involved.
if [ "${MPQEMU_PROCESS:-}" = main ]; then
  f="${TMPDIR:-/tmp}/mpqemu-slow-main-$$"
  mkfifo -m 600 "$f"
  exec 3<>"$f"
  rm -f "$f"
  read -r -t "${MPQEMU_TEST_MAIN_DELAY:-30}" -u 3 || true
  exec 3<&-
fi
exec qemu-system-x86_64 "$@"
