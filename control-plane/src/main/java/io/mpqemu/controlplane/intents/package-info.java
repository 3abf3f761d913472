/**
 * The API's use cases: each validates a request, stores the intent and its event in one transaction, and
 * answers; none calls an agent (the reconciler converges). Reads come from the store.
 */
package io.mpqemu.controlplane.intents;
