/**
 * The few Linux calls the JDK lacks, through JNA (the only user of it): raw descriptors, opening
 * beneath a directory without following links, posix_spawn with descriptor actions, waiting and reaping.
 */
package io.mpqemu.agent.sys;
