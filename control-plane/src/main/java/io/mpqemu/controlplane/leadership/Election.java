package io.mpqemu.controlplane.leadership;

import io.mpqemu.errors.Echo;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.time.Duration;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * How a control plane on a shared store (PostgreSQL) takes part in electing the leader: the id it holds
 * the lease under (unique among the control planes of one database: two with one id would both lead)
 * and the lease's timing.
 */
public record Election(String controlPlaneId, LeaseSettings lease) {

  private static final Pattern ID = Pattern.compile("[a-z0-9]([a-z0-9.-]{0,61}[a-z0-9])?");
  private static final Pattern DURATION = Pattern.compile("(\\d{1,6})(ms|s)");

  public Election {
    if (!ID.matcher(controlPlaneId).matches()) {
      throw new IllegalArgumentException("--control-plane-id must be 1 to 63 lower-case letters, digits, '.' or '-',"
          + " starting and ending with a letter or digit, not '" + Echo.of(controlPlaneId) + "'");
    }
  }

  /** This host's name as an id, with the default lease: a failover within 5 s. */
  public static Election defaults() {
    return new Election(hostId(), LeaseSettings.DEFAULT);
  }

  /** This host's name, lower-cased, anything an id cannot hold made a '-'; looked up once per process. */
  public static String hostId() {
    return HostId.VALUE;
  }

  /** Resolved on first use only: a config built with its default election does not wait for a name lookup. */
  private static final class HostId {
    static final String VALUE = lookUp();
  }

  private static String lookUp() {
    String name;
    try {
      name = InetAddress.getLocalHost().getHostName();
    } catch (UnknownHostException e) {
      name = "control-plane";
    }
    String id = name.toLowerCase(Locale.ROOT).replaceAll("[^a-z0-9.-]", "-").replaceAll("^[.-]+|[.-]+$", "");
    return id.isEmpty() ? "control-plane" : id.substring(0, Math.min(63, id.length())).replaceAll("[.-]+$", "");
  }

  /** Reads a lease duration flag: a whole number of ms or s ({@code 4s}, {@code 1500ms}). */
  public static Duration parseDuration(String option, String text) {
    Matcher m = DURATION.matcher(text);
    if (!m.matches()) {
      throw new IllegalArgumentException(option + " must be a whole number followed by ms or s (4s, 1500ms), not '"
          + Echo.of(text) + "'");
    }
    long n = Long.parseLong(m.group(1));
    return m.group(2).equals("s") ? Duration.ofSeconds(n) : Duration.ofMillis(n);
  }
}
