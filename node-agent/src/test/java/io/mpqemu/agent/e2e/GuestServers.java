package io.mpqemu.agent.e2e;

/**
 * cloud-init user data that starts small TCP servers in the test guest (with its {@code nc}), for the NIC
 * tests: {@value #HELLO_PORT} answers "hello from NAME" to every connection, {@value #SINK_PORT} reads and
 * drops whatever it is sent.
 */
final class GuestServers {

  static final int HELLO_PORT = 8080;
  static final int SINK_PORT = 9090;

  private GuestServers() {}

  /** The hello server, and the sink when {@code sink}. */
  static String userData(String name, boolean sink) {
    StringBuilder data = new StringBuilder("#cloud-config\nwrite_files:\n");
    data.append(unit("guest-hello", "while true; do echo hello from " + name + " | nc -N -l " + HELLO_PORT + "; done"));
    if (sink) {
      data.append(unit("guest-sink", "while true; do nc -l " + SINK_PORT + " >/dev/null; done"));
    }
    return data.append("runcmd:\n  - [systemctl, start, --no-block, guest-hello.service")
        .append(sink ? ", guest-sink.service]\n" : "]\n").toString();
  }

  private static String unit(String name, String loop) {
    return "  - path: /etc/systemd/system/" + name + ".service\n"
        + "    content: |\n"
        + "      [Service]\n"
        + "      ExecStart=/bin/sh -c '" + loop + "'\n";
  }
}
