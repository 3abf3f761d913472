/** gRPC client helpers shared by the CLIs and the control plane's dispatch, and the message size limit of every gRPC server and client. */
package io.mpqemu.grpc;
