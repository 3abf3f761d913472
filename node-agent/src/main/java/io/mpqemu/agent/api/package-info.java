/** The agent's gRPC API: request checks, conversion, and the mapping of errors to status codes. */
package io.mpqemu.agent.api;
