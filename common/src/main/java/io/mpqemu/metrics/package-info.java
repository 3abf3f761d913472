/** Counters, gauges and histograms of one service, rendered in the Prometheus text format, and the series both services export. */
package io.mpqemu.metrics;
