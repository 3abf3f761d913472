/** {@code node-agent client ...}: the agent's gRPC API from a shell, answers in protobuf's JSON form. */
package io.mpqemu.agent.cli;
