/**
 * Who calls a service and what they may do: a caller is identified by its UNIX peer credentials or its
 * TLS certificate, given a role (operator or viewer), and checked at the gate in front of every gRPC and
 * HTTP server before any request reaches a service.
 */
package io.mpqemu.access;
