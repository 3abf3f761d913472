/** Fencing: which control plane's commands this node still obeys, by the leader epoch they carry. */
package io.mpqemu.agent.fence;
