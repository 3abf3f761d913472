package io.mpqemu.agent.bench;

import io.mpqemu.agent.e2e.AgentHarness;
import io.mpqemu.testing.Await;
import io.mpqemu.testing.TestGuest;
import io.mpqemu.v1.Boot;
import io.mpqemu.v1.CloudInit;
import io.mpqemu.v1.Disk;
import io.mpqemu.v1.EventType;
import io.mpqemu.v1.Nic;
import io.mpqemu.v1.NicPlacement;
import io.mpqemu.v1.PortForward;
import io.mpqemu.v1.ProxiedDevice;
import io.mpqemu.v1.VmSpec;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * Guest-to-host TCP throughput and round-trip latency of one NIC on the node's default (user-mode)
 * network, by where and what it is: an {@code e1000e} in a device process of its own, the same
 * {@code e1000e} in the main QEMU, and a {@code virtio-net-pci} in the main QEMU; and the proxied
 * {@code e1000e} again with a guest process that wakes every {@code bench.wakeMicros} (200 µs), which makes the
 * guest's timer interrupt, at which {@code irqpoll} polls the proxied NIC, come that often instead of at the
 * kernel's 250 Hz tick. One agent in this JVM, the real Debian guest (512 MiB, 1 vCPU, TCG, its root on a
 * proxied virtio-blk-pci), one VM at a time. For each, the main QEMU's CPU while the guest idles (5 s, from
 * /proc) says what the guest's own activity costs the host.
 *
 * <p>In each guest, cloud-init starts a Python server: on port 5001 it sends the number of bytes the host
 * asks for, on 5002 it echoes. The host reaches both through the VM's port forwards on loopback: a
 * transfer is timed from the request to the last byte (median of {@code bench.transfers}, {@code bench.mib}
 * MiB each, 3 of 8 MiB by default), a
 * round trip is one byte there and back ({@code bench.pings} after 20 unmeasured, median and p95); the other
 * way, the host sends the same amount to a sink on port 5003, timed from its go to its ok.
 *
 * <p>Run: {@code mvn -B -o verify -Pbench -pl test-fixtures,proto,common,node-agent -Dtest=NicThroughputBenchmark}.
 */
class NicThroughputBenchmark {

  private static final int TRANSFERS = Integer.getInteger("bench.transfers", 3);
  private static final int PINGS = Integer.getInteger("bench.pings", 300);
  private static final int BYTES = Integer.getInteger("bench.mib", 8) << 20;
  /** Which of the three to run (their names' first words: e1000e-process, e1000e-main, virtio-main); all by default. */
  private static final String ONLY = System.getProperty("bench.only", "");
  /** Added to the guest's kernel command line (an experiment such as pci=nomsi). */
  private static final String CMDLINE_EXTRA = System.getProperty("bench.cmdline", "");
  /** How often the waking variant's guest process wakes, in microseconds. */
  private static final int WAKE_MICROS = Integer.getInteger("bench.wakeMicros", 200);
  private static final Duration READY_WITHIN = Duration.ofSeconds(420);

  private static final String SERVER = String.join("\n",
      "import socket, threading",
      "def serve(port, handle):",
      "    s = socket.socket()",
      "    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)",
      "    s.bind(('', port))",
      "    s.listen(4)",
      "    while True:",
      "        c, _ = s.accept()",
      "        c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)",
      "        try:",
      "            handle(c)",
      "        except OSError:",
      "            pass",
      "        c.close()",
      "def send(c):",
      "    left = int(c.recv(32).decode().strip())",
      "    chunk = bytes(65536)",
      "    while left > 0:",
      "        left -= c.send(chunk[:min(left, len(chunk))])",
      "def take(c):",
      "    left = int(c.recv(32).decode().strip())",
      "    c.sendall(b'go')",
      "    while left > 0:",
      "        d = c.recv(65536)",
      "        if not d:",
      "            return",
      "        left -= len(d)",
      "    c.sendall(b'ok')",
      "def echo(c):",
      "    while True:",
      "        d = c.recv(64)",
      "        if not d:",
      "            return",
      "        c.sendall(d)",
      "threading.Thread(target=serve, args=(5001, send), daemon=True).start()",
      "threading.Thread(target=serve, args=(5003, take), daemon=True).start()",
      "serve(5002, echo)",
      "");

  private record Variant(String name, String model, NicPlacement placement, boolean wakes) {
    String key() {
      return (model.equals("e1000e") ? "e1000e" : "virtio") + (placement == NicPlacement.MAIN ? "-main" : "-process")
          + (wakes ? "-wake" : "");
    }
  }

  private record Result(Variant variant, double mibPerSecond, double inMibPerSecond, double rttMedianMs,
      double rttP95Ms, double idleCpuPercent) {}

  @Test
  void nicPlacements() throws Exception {
    List<Variant> variants = List.of(
        new Variant("e1000e in a device process", "e1000e", NicPlacement.DEVICE_PROCESS, false),
        new Variant("e1000e in the main QEMU", "e1000e", NicPlacement.MAIN, false),
        new Variant("virtio-net-pci in the main QEMU", "virtio-net-pci", NicPlacement.MAIN, false),
        new Variant("e1000e in a device process, waker", "e1000e", NicPlacement.DEVICE_PROCESS, true)).stream()
        .filter(v -> ONLY.isEmpty() || List.of(ONLY.split(",")).contains(v.key())).toList();
    var guest = TestGuest.ensureBuilt();
    List<Result> results = new ArrayList<>();
    try (AgentHarness agent = new AgentHarness().startInProcess()) {
      TestGuest.copyBootFiles(guest, agent.imageRoot);
      int n = 0;
      for (Variant v : variants) {
        String vmId = "vm-nic-" + n++;
        TestGuest.copyRoot(guest, agent.imageRoot.resolve(vmId + ".img"));
        int bulk = freePort();
        int echo = freePort();
        int sink = freePort();
        agent.launch(vmId, spec(vmId, v, bulk, echo, sink));
        agent.awaitBusEvent(e -> e.getVmId().equals(vmId) && e.getType() == EventType.GUEST_READY, READY_WITHIN);
        awaitEcho(echo);
        long mainPid = agent.get(vmId).getProcessesList().stream().filter(p -> p.getName().equals("main"))
            .findFirst().orElseThrow().getPid();
        double idleCpu = cpuPercent(mainPid, Duration.ofSeconds(5));
        results.add(measure(v, bulk, echo, sink, idleCpu));
        agent.delete(vmId, true);
        agent.awaitNoQemu(Duration.ofSeconds(20));
      }
    }
    report(results);
  }

  private static VmSpec spec(String vmId, Variant v, int bulk, int echo, int sink) {
    String userData = "#cloud-config\nwrite_files:\n"
        + "  - path: /usr/local/bin/mpqemu-bench.py\n    content: |\n"
        + SERVER.lines().map(l -> "      " + l + "\n").reduce("", String::concat)
        + "  - path: /etc/systemd/system/mpqemu-bench.service\n    content: |\n"
        + "      [Service]\n      ExecStart=/usr/bin/python3 /usr/local/bin/mpqemu-bench.py\n"
        + (!v.wakes() ? "" : "  - path: /usr/local/bin/mpqemu-wake.py\n    content: |\n      import time\n"
            + "      while True:\n          time.sleep(" + WAKE_MICROS / 1e6 + ")\n"
            + "  - path: /etc/systemd/system/mpqemu-wake.service\n    content: |\n"
            + "      [Service]\n      ExecStart=/usr/bin/python3 /usr/local/bin/mpqemu-wake.py\n")
        + "runcmd:\n  - [systemctl, start, --no-block, mpqemu-bench.service]\n"
        + (!v.wakes() ? "" : "  - [systemctl, start, --no-block, mpqemu-wake.service]\n");
    String name = vmId.substring(3);
    return VmSpec.newBuilder().setName(name).setMemoryMib(512)
        .addDevices(ProxiedDevice.newBuilder().setId("root0").setDriver("virtio-blk-pci")
            .addDisks(Disk.newBuilder().setId("root").setImage(vmId + ".img")))
        .addNics(Nic.newBuilder().setId("net0").setModel(v.model()).setPlacement(v.placement())
            .addPortForwards(PortForward.newBuilder().setHostPort(bulk).setGuestPort(5001))
            .addPortForwards(PortForward.newBuilder().setHostPort(echo).setGuestPort(5002))
            .addPortForwards(PortForward.newBuilder().setHostPort(sink).setGuestPort(5003)))
        .setBoot(Boot.newBuilder().setKernel("vmlinuz").setInitrd("initrd.img").setCmdline((TestGuest.CMDLINE + " " + CMDLINE_EXTRA).strip()))
        .setCloudInit(CloudInit.newBuilder().setUserData(userData))
        .setReadyPattern(Pattern.quote("root@" + name + ":~#"))
        .build();
  }

  private static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0)) {
      return s.getLocalPort();
    }
  }

  /** Until the guest's echo server answers (it starts late in the boot). */
  private static void awaitEcho(int port) {
    Await.atMost(Duration.ofSeconds(180)).every(Duration.ofMillis(500)).until(() -> {
      try (Socket s = connect(port)) {
        s.getOutputStream().write('x');
        return s.getInputStream().read() == 'x';
      } catch (IOException e) {
        return false;
      }
    }, ok -> ok, ok -> "the guest's echo server never answered on 127.0.0.1:" + port);
  }

  private static Socket connect(int port) throws IOException {
    Socket s = new Socket();
    s.connect(new InetSocketAddress("127.0.0.1", port), 5000);
    s.setSoTimeout(60_000);
    s.setTcpNoDelay(true);
    return s;
  }

  /** The share of one core {@code pid} used over {@code window} (utime + stime from /proc, in clock ticks of 10 ms). */
  private static double cpuPercent(long pid, Duration window) throws IOException {
    long before = cpuTicks(pid);
    Await.sleep(window.toMillis());
    return (cpuTicks(pid) - before) * 10.0 / window.toMillis() * 100;
  }

  private static long cpuTicks(long pid) throws IOException {
    String stat = java.nio.file.Files.readString(java.nio.file.Path.of("/proc/" + pid + "/stat"));
    String[] fields = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
    return Long.parseLong(fields[11]) + Long.parseLong(fields[12]); // utime and stime, fields 14 and 15 of stat
  }

  private static Result measure(Variant v, int bulk, int echo, int sink, double idleCpu) throws IOException {
    double[] inRates = new double[TRANSFERS];
    byte[] zeros = new byte[1 << 16];
    for (int t = 0; t < TRANSFERS; t++) {
      try (Socket s = connect(sink)) {
        OutputStream out = s.getOutputStream();
        InputStream in = s.getInputStream();
        out.write((BYTES + "\n").getBytes(StandardCharsets.US_ASCII));
        if (in.read() != 'g' || in.read() != 'o') {
          throw new IOException(v.name() + ": the guest's sink did not say go");
        }
        long start = System.nanoTime();
        for (int left = BYTES; left > 0; left -= zeros.length) {
          out.write(zeros, 0, Math.min(left, zeros.length));
        }
        if (in.read() != 'o' || in.read() != 'k') {
          throw new IOException(v.name() + ": the guest's sink did not take all " + BYTES + " bytes");
        }
        inRates[t] = (double) BYTES / (1 << 20) / ((System.nanoTime() - start) / 1e9);
      }
    }
    Arrays.sort(inRates);
    double[] rates = new double[TRANSFERS];
    byte[] buf = new byte[1 << 16];
    for (int t = 0; t < TRANSFERS; t++) {
      try (Socket s = connect(bulk)) {
        long start = System.nanoTime();
        s.getOutputStream().write((BYTES + "\n").getBytes(StandardCharsets.US_ASCII));
        InputStream in = s.getInputStream();
        long got = 0;
        for (int k; (k = in.read(buf)) > 0; ) {
          got += k;
        }
        double seconds = (System.nanoTime() - start) / 1e9;
        if (got != BYTES) {
          throw new IOException(v.name() + ": received " + got + " of " + BYTES + " bytes");
        }
        rates[t] = (double) BYTES / (1 << 20) / seconds;
      }
    }
    double[] rtts = new double[PINGS];
    try (Socket s = connect(echo)) {
      OutputStream out = s.getOutputStream();
      InputStream in = s.getInputStream();
      for (int i = -20; i < PINGS; i++) {
        long start = System.nanoTime();
        out.write('p');
        if (in.read() != 'p') {
          throw new IOException(v.name() + ": the echo server answered something else");
        }
        if (i >= 0) {
          rtts[i] = (System.nanoTime() - start) / 1e6;
        }
      }
    }
    Arrays.sort(rates);
    Arrays.sort(rtts);
    return new Result(v, rates[TRANSFERS / 2], inRates[TRANSFERS / 2], rtts[PINGS / 2],
        rtts[(int) Math.ceil(PINGS * 0.95) - 1], idleCpu);
  }

  private static void report(List<Result> results) {
    StringBuilder out = new StringBuilder("\nNIC throughput and latency, guest to host through a user-mode forward, "
        + java.time.LocalDate.now() + ", " + Runtime.getRuntime().availableProcessors() + " CPUs, TCG\n");
    for (Result r : results) {
      out.append(String.format("%-36s guest->host %7.1f MiB/s, host->guest %7.1f MiB/s, rtt median %6.2f ms,"
          + " p95 %6.2f ms, main QEMU idle %5.1f%% of a core%n", r.variant().name(), r.mibPerSecond(),
          r.inMibPerSecond(), r.rttMedianMs(), r.rttP95Ms(), r.idleCpuPercent()));
    }
    java.util.Map<String, Result> by = new java.util.HashMap<>();
    results.forEach(r -> by.put(r.variant().key(), r));
    Result inMain = by.get("e1000e-main");
    for (String proxied : List.of("e1000e-process", "e1000e-process-wake")) {
      Result p = by.get(proxied);
      if (p != null && inMain != null) {
        out.append(String.format("%-36s / in-process e1000e: guest->host %.3fx, host->guest %.3fx, round trip %.1fx%n",
            p.variant().name(), p.mibPerSecond() / inMain.mibPerSecond(), p.inMibPerSecond() / inMain.inMibPerSecond(),
            p.rttMedianMs() / inMain.rttMedianMs()));
      }
    }
    System.out.println(out);
  }
}
