/** The on-disk state of the VMs of this node: one directory per VM, written atomically. */
package io.mpqemu.agent.state;
