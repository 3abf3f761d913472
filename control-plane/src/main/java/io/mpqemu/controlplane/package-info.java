/** The control plane: durable VM intents, placement, dispatch, reconciliation, the event log (being built). */
package io.mpqemu.controlplane;
