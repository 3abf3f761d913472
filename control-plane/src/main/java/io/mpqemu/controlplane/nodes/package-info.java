/** The nodes of the fleet, as their heartbeats tell: READY, NOT_READY, LOST. */
package io.mpqemu.controlplane.nodes;
