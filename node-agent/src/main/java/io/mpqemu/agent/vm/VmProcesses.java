package io.mpqemu.agent.vm;

import io.mpqemu.agent.state.VmPaths;
import io.mpqemu.agent.unix.DevicePair;
import io.mpqemu.v1.ProxiedDevice;
import io.mpqemu.v1.VmSpec;
import io.vertx.core.Future;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The processes of one VM and the socketpairs between them, by name ("main" or a device id). The
 * agent holds both ends of each pair for the VM's life and closes a pair when one of its processes
 * exits (see {@link DevicePair}). Event loop only.
 */
final class VmProcesses {

  private final Map<String, VmProcess> byName = new LinkedHashMap<>();
  private final Map<String, DevicePair> pairs = new LinkedHashMap<>();
  /** Process starts of the current launch, registered or not yet: a failed launch waits for them. */
  private final List<Future<Void>> spawning = new ArrayList<>();

  /** A new launch starts from nothing. */
  void clear() {
    byName.clear();
    pairs.clear();
    spawning.clear();
  }

  void add(VmProcess p) {
    byName.put(p.name(), p);
  }

  /** The main QEMU, or null. */
  VmProcess main() {
    return byName.get(VmPaths.MAIN);
  }

  Collection<VmProcess> all() {
    return byName.values();
  }

  /** Names in the order the processes were registered. */
  List<String> names() {
    return List.copyOf(byName.keySet());
  }

  List<VmProcess> devices() {
    return byName.values().stream().filter(p -> !p.isMain()).toList();
  }

  boolean isEmpty() {
    return byName.isEmpty();
  }

  /** Kills every process without waiting, and forgets them. */
  void killAndDrop() {
    byName.values().forEach(VmProcess::kill);
    byName.clear();
  }

  /**
   * Device processes in the spec's order (they start in parallel), then those the spec does not list (the
   * cloud-init seed's) by name, then the main QEMU.
   */
  List<VmProcess> inSpecOrder(VmSpec spec) {
    List<VmProcess> ordered = new ArrayList<>();
    for (ProxiedDevice d : spec.getDevicesList()) {
      VmProcess p = byName.get(d.getId());
      if (p != null) {
        ordered.add(p);
      }
    }
    devices().stream().filter(p -> !ordered.contains(p)).sorted(java.util.Comparator.comparing(VmProcess::name))
        .forEach(ordered::add);
    VmProcess main = main();
    if (main != null) {
      ordered.add(main);
    }
    return ordered;
  }

  /** Processes that have not exited, as messages name them: "lsi0 (pid 42)". */
  List<String> survivors() {
    return byName.values().stream().filter(p -> !p.hasExited()).map(p -> p.name() + " (pid " + p.pid() + ")").toList();
  }

  void addPairs(Map<String, DevicePair> opened) {
    pairs.putAll(opened);
  }

  DevicePair pair(String deviceId) {
    return pairs.get(deviceId);
  }

  /** A device process exited: its pair is closed. The main QEMU's exit closes every pair later. */
  void closePairOf(VmProcess p) {
    if (p.isMain()) {
      return; // the device processes learn of it when the teardown closes every pair
    }
    DevicePair pair = pairs.get(p.name());
    if (pair != null) {
      pair.close();
    }
  }

  void closePairs() {
    pairs.values().forEach(DevicePair::close);
  }

  void spawning(Future<Void> start) {
    spawning.add(start);
  }

  List<Future<Void>> spawns() {
    return List.copyOf(spawning);
  }
}
