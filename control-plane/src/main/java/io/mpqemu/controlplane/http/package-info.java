/** The control plane's loopback HTTP endpoints: health, Prometheus metrics, the event log as Server-Sent Events, read-only JSON. */
package io.mpqemu.controlplane.http;
