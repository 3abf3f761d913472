/** The ordered, durable event log as subscribers see it: replay from any seq, then live. */
package io.mpqemu.controlplane.events;
