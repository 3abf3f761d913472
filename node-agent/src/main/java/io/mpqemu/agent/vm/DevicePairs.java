package io.mpqemu.agent.vm;

import io.mpqemu.agent.unix.DevicePair;
import java.io.IOException;

/** Opens the connected socketpair between one device process and its proxy. Blocking. */
@FunctionalInterface
public interface DevicePairs {
  DevicePair open() throws IOException;
}
