/** The node agent: one per host; launches, supervises and adopts multi-process QEMU VMs. */
package io.mpqemu.agent;
