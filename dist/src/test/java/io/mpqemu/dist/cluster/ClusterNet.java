package io.mpqemu.dist.cluster;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;

/**
 * One network namespace per "host", each with a veth link to a bridge, addresses on a private /24
 * that exists only on these links. The bridge carries the .254 address, so this JVM (the test) can
 * reach every host the way an operator's machine would. Without root or {@code ip netns}, every host
 * is 127.0.0.1 and {@link #namespaces} is false (also with {@code -Dmpqemu.test.loopback=true}).
 */
final class ClusterNet implements AutoCloseable {

  /** A host of the test cluster. */
  record Host(String name, String ns, String ip, String hostSideLink) {
    List<String> prefix() {
      return ns == null ? List.of() : List.of("ip", "netns", "exec", ns);
    }
  }

  final boolean namespaces;
  final List<Host> hosts;
  /** This JVM's address on the cluster network (the bridge's), or 127.0.0.1. */
  final String selfIp;
  private final String tag;
  private final String bridge;

  private ClusterNet(boolean namespaces, List<Host> hosts, String tag, String bridge, String selfIp) {
    this.namespaces = namespaces;
    this.selfIp = selfIp;
    this.hosts = hosts;
    this.tag = tag;
    this.bridge = bridge;
  }

  static ClusterNet create(List<String> names) {
    String tag = "mq" + HexFormat.of().toHexDigits((short) ThreadLocalRandom.current().nextInt());
    int subnet = 10 + ThreadLocalRandom.current().nextInt(200);
    String bridge = tag + "br";
    List<Host> hosts = new ArrayList<>();
    try {
      if (Boolean.getBoolean("mpqemu.test.loopback")) {
        throw new IOException("-Dmpqemu.test.loopback=true");
      }
      run("ip", "link", "add", bridge, "type", "bridge");
      run("ip", "addr", "add", "10.213." + subnet + ".254/24", "dev", bridge);
      run("ip", "link", "set", bridge, "up");
      for (int i = 0; i < names.size(); i++) {
        String ns = tag + "-" + names.get(i);
        String outer = tag + "h" + i;
        String inner = tag + "n" + i;
        String ip = "10.213." + subnet + "." + (i + 1);
        run("ip", "netns", "add", ns);
        hosts.add(new Host(names.get(i), ns, ip, outer));
        run("ip", "link", "add", outer, "type", "veth", "peer", "name", inner);
        run("ip", "link", "set", inner, "netns", ns);
        run("ip", "link", "set", outer, "master", bridge);
        run("ip", "link", "set", outer, "up");
        run("ip", "-n", ns, "addr", "add", ip + "/24", "dev", inner);
        run("ip", "-n", ns, "link", "set", inner, "up");
        run("ip", "-n", ns, "link", "set", "lo", "up");
      }
      return new ClusterNet(true, List.copyOf(hosts), tag, bridge, "10.213." + subnet + ".254");
    } catch (IOException e) {
      new ClusterNet(true, hosts, tag, bridge, null).close();
      System.err.println("ClusterNet: network namespaces are not available here (" + e.getMessage()
          + "); every host is 127.0.0.1");
      return new ClusterNet(false, names.stream().map(n -> new Host(n, null, "127.0.0.1", null)).toList(), tag, null,
          "127.0.0.1");
    }
  }

  /** Takes the host's link down (as a pulled cable): nothing reaches it, it reaches nothing. */
  void cut(Host h) throws IOException {
    run("ip", "link", "set", h.hostSideLink(), "down");
  }

  void restore(Host h) throws IOException {
    run("ip", "link", "set", h.hostSideLink(), "up");
  }

  @Override
  public void close() {
    if (!namespaces) {
      return;
    }
    for (Host h : hosts) {
      quietly("ip", "netns", "del", h.ns());
      if (h.hostSideLink() != null) {
        quietly("ip", "link", "del", h.hostSideLink());
      }
    }
    quietly("ip", "link", "del", bridge);
  }

  private static void quietly(String... cmd) {
    try {
      run(cmd);
    } catch (IOException e) {
      // already gone
    }
  }

  static void run(String... cmd) throws IOException {
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    try {
      if (!p.waitFor(30, TimeUnit.SECONDS)) {
        p.destroyForcibly();
        throw new IOException(String.join(" ", cmd) + ": timed out");
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IOException(e);
    }
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
    if (p.exitValue() != 0) {
      throw new IOException(String.join(" ", cmd) + " exited " + p.exitValue() + ": " + out);
    }
  }

  String tag() {
    return tag;
  }
}
