package io.mpqemu.agent.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;

/**
 * A network namespace of the test's own ({@code ip netns}), with its loopback up and a bridge in it: the
 * test's own addresses only, removed (with every interface in it) on close.
 */
public final class TestNetns implements AutoCloseable {

  public final String name;

  private TestNetns(String name) {
    this.name = name;
  }

  /** A namespace named {@code prefix} and a random suffix, with bridge {@code bridge} up (and {@code address} on it, unless empty). */
  public static TestNetns withBridge(String prefix, String bridge, String address) throws Exception {
    TestNetns ns = new TestNetns(prefix + Integer.toHexString(ThreadLocalRandom.current().nextInt(1 << 20)));
    host(List.of("ip", "netns", "add", ns.name));
    try {
      ns.run("ip", "link", "set", "lo", "up");
      ns.run("ip", "link", "add", bridge, "type", "bridge");
      if (!address.isEmpty()) {
        ns.run("ip", "addr", "add", address, "dev", bridge);
      }
      ns.run("ip", "link", "set", bridge, "up");
      return ns;
    } catch (Exception | AssertionError e) {
      ns.close();
      throw e;
    }
  }

  /** What runs a command inside the namespace, to put before its argv. */
  public List<String> prefix() {
    return List.of("ip", "netns", "exec", name);
  }

  /** Runs {@code argv} in the namespace; its output, or an assertion error with it when it fails. */
  public String run(String... argv) throws Exception {
    List<String> full = new ArrayList<>(prefix());
    full.addAll(List.of(argv));
    return host(full);
  }

  /** The same, with a failure's message as the answer (for polling). */
  public String runQuietly(String... argv) {
    try {
      return run(argv);
    } catch (Exception | AssertionError e) {
      return e.getMessage();
    }
  }

  @Override
  public void close() throws Exception {
    host(List.of("ip", "netns", "del", name));
  }

  private static String host(List<String> argv) throws Exception {
    Process p = new ProcessBuilder(argv).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(p.waitFor(60, TimeUnit.SECONDS)).as(String.join(" ", argv) + " did not end").isTrue();
    assertThat(p.exitValue()).as(String.join(" ", argv) + ": " + out).isZero();
    return out;
  }
}
