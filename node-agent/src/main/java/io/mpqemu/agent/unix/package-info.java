/**
 * AF_UNIX sockets: socketpairs for device processes, descriptor passing, the QMP socket. The only
 * package that imports junixsocket.
 */
package io.mpqemu.agent.unix;
