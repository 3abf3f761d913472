/** The listeners both services run (gRPC with reflection and health, plain HTTP) and their shared routes: /healthz, /readyz, /metrics, JSON errors. */
package io.mpqemu.http;
