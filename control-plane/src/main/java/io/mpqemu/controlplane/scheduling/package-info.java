/** Placement: a pure function from a VM spec and the nodes' offers to a node, or the reason none fits. */
package io.mpqemu.controlplane.scheduling;
