package io.mpqemu.agent.catalog;

/**
 * What an import declares before its bytes.
 *
 * @param sha256 64 lowercase hex digits
 */
public record Upload(String name, String format, String sha256, long sizeBytes) {}
