/**
 * Convergence: placing, launching, stopping and restarting VMs, applying what agents report, and
 * repairing what differs between intents and nodes. The only caller of the {@link io.mpqemu.controlplane.reconcile.Agents} port.
 */
package io.mpqemu.controlplane.reconcile;
