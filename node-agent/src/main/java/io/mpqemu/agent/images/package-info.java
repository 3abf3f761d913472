/** Disk images opened by the agent itself, beneath the image root, checked on the descriptor QEMU gets. */
package io.mpqemu.agent.images;
