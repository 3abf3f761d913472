/**
 * Confinement of QEMU processes: a uid of its own for each process, from a configured range; a view
 * of the file system with nothing of the host's data in it; no capabilities; rlimits and cgroups.
 */
package io.mpqemu.agent.confine;
