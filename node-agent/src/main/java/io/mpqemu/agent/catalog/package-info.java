/**
 * The node's image catalog: named, checksummed images the agent imports (written beside the catalog, then
 * linked in once size and SHA-256 match), lists and deletes. Blocking file work, run on workers; free of
 * generated types.
 */
package io.mpqemu.agent.catalog;
