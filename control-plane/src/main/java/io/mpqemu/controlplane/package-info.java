/** The control plane: durable VM intents, placement, dispatch to agents, reconciliation, the event log. */
package io.mpqemu.controlplane;
