/** The VM domain without I/O: errors with a kind, back-off, quotas, why an agent's event was dropped. */
package io.mpqemu.controlplane.vm;
