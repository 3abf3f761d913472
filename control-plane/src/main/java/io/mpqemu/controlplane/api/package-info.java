/** The public gRPC API (mpqemu.v1.VmService): request checks, conversion, status mapping. */
package io.mpqemu.controlplane.api;
