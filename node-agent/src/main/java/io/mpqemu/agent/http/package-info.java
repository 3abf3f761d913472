/** The agent's loopback HTTP endpoints (/healthz, /readyz, /metrics) and the pieces the control plane's reuse: a small Prometheus registry, JSON errors, listening. */
package io.mpqemu.agent.http;
