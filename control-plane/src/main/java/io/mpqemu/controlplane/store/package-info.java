/** The control plane's durable state (VM intents, the event log, nodes, request ids) behind one interface. */
package io.mpqemu.controlplane.store;
