/** The native calls identity needs (SO_PEERCRED, SO_PEERGROUPS, the user and group databases), through JNA. */
package io.mpqemu.access.sys;
