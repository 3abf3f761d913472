/** Which control plane leads: a lease with a fencing epoch, kept renewed, given up in time. */
package io.mpqemu.controlplane.leadership;
