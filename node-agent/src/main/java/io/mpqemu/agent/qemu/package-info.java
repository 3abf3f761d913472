/** QEMU command lines (pure) and the QMP client. */
package io.mpqemu.agent.qemu;
