/** Each service's Micrometer registry rendered as Prometheus text, its mpqemu_* meters. */
package io.mpqemu.metrics;
