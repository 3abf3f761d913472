/** The VMs of this node: one supervisor per VM (launch, supervision, stop, adoption) and the registry. */
package io.mpqemu.agent.vm;
