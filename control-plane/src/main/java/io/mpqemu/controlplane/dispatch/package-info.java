/** Commands to node agents over gRPC, with deadlines and retries, and the reconciler. */
package io.mpqemu.controlplane.dispatch;
