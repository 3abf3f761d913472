/**
 * Pure policies over the wire's immutable values: how an agent's report folds into a VM's status, and
 * whether and when a VM restarts. No I/O, no clock, no Vert.x, no logging (ControlPlaneArchitectureTest).
 */
package io.mpqemu.controlplane.policy;
