/** Each service's Micrometer registry rendered as Prometheus text, its mpqemu_* meters, and Vert.x's metrics wiring. */
package io.mpqemu.metrics;
