/** Lifecycle events of this node: published on the event bus and handed to local watchers. */
package io.mpqemu.agent.events;
