/**
 * Interactive serial consoles: the agent's connection to each running VM's console socket, the recent
 * output it keeps, the sessions attached to it (many readers, at most one writer) and the readiness
 * signal a spec's {@code ready_pattern} gives. Runs on the agent's event loop.
 */
package io.mpqemu.agent.console;
