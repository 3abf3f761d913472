/** The VM records this control plane writes: the write model over the store, and the one way changes are committed. */
package io.mpqemu.controlplane.records;
