/** gRPC client helpers shared by the CLIs and the control plane's dispatch. */
package io.mpqemu.grpc;
