/** Small conversions between Java values and the {@code mpqemu.v1} messages both services send. */
package io.mpqemu.wire;
