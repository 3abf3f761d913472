package io.mpqemu.agent.process;

import java.nio.file.Path;
import java.util.List;

/**
 * What marks a QEMU process as this agent's and one VM's: entries of its environment, which QEMU
 * ignores and no option parser sees. The agent's state directory names the agent (several agents on
 * one host each have their own); the VM id and the process name (a device id, or {@code main}) say
 * the rest. {@link ProcessScanner#withMarker} finds the processes by any prefix of these entries.
 */
public final class ProcessMarker {

  static final String AGENT = "MPQEMU_AGENT=";
  static final String VM = "MPQEMU_VM=";
  static final String PROCESS = "MPQEMU_PROCESS=";

  private ProcessMarker() {}

  /** Every process of the agent whose state directory is {@code stateDir}. */
  public static List<String> agent(Path stateDir) {
    return List.of(AGENT + stateDir);
  }

  /** Every process of one VM. */
  public static List<String> vm(Path stateDir, String vmId) {
    return List.of(AGENT + stateDir, VM + vmId);
  }

  /** One process of one VM. */
  public static List<String> process(Path stateDir, String vmId, String name) {
    return List.of(AGENT + stateDir, VM + vmId, PROCESS + name);
  }
}
