/** The command-line client of the control plane: {@code control-plane vm | events | node | console}. */
package io.mpqemu.controlplane.cli;
