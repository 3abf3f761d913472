/**
 * The control plane's durable state (VM intents, the event log, nodes, request ids) behind one interface,
 * in SQLite (embedded, the default) or PostgreSQL (shared by control planes), with group commit.
 */
package io.mpqemu.controlplane.store;
