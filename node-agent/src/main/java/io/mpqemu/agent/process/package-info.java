/** Starting, watching, adopting and killing OS processes (QEMU), independent of what they run. */
package io.mpqemu.agent.process;
