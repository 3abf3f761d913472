/** What this host offers: the QEMU binary's version and features, and the accelerator to use. */
package io.mpqemu.agent.node;
