/** The networks a node defines for its VMs' NICs: user-mode NAT and host bridges. */
package io.mpqemu.agent.net;
