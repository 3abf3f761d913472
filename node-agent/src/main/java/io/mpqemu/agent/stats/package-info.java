/**
 * Per-process figures of the node's QEMU processes (CPU seconds, resident memory, cgroup memory): read
 * from /proc on a worker and cached, so that GetVm, ListVms and /metrics show them without blocking
 * the agent's event loop.
 */
package io.mpqemu.agent.stats;
