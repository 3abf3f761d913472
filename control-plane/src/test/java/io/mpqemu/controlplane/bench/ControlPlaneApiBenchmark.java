package io.mpqemu.controlplane.bench;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.Timestamp;
import com.google.protobuf.util.JsonFormat;
import io.mpqemu.controlplane.bench.Bench.Clients;
import io.mpqemu.controlplane.bench.Bench.ControlPlane;
import io.mpqemu.controlplane.bench.Bench.Report;
import io.mpqemu.controlplane.store.Change;
import io.mpqemu.controlplane.store.SqliteStore;
import io.mpqemu.controlplane.store.StoredVm;
import io.mpqemu.testing.Await;
import io.mpqemu.v1.CreateVmRequest;
import io.mpqemu.v1.DesiredState;
import io.mpqemu.v1.EventType;
import io.mpqemu.v1.ListVmsRequest;
import io.mpqemu.v1.ListVmsResponse;
import io.mpqemu.v1.Phase;
import io.mpqemu.v1.ProcessRole;
import io.mpqemu.v1.ProcessState;
import io.mpqemu.v1.ProcessStatus;
import io.mpqemu.v1.Vm;
import io.mpqemu.v1.VmEvent;
import io.mpqemu.v1.VmServiceGrpcClient;
import io.mpqemu.v1.VmSpec;
import io.mpqemu.v1.VmStatus;
import io.mpqemu.v1.WatchEventsRequest;
import io.vertx.core.net.SocketAddress;
import io.vertx.grpc.client.GrpcClient;
import io.vertx.grpc.client.GrpcClientRequest;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;

/**
 * The control plane's API against plain SQLite, without QEMU: durable CreateVm throughput, ListVms of
 * 10,000 VMs, WatchEvents replay of 100,000 events, and live delivery to 100 subscribers.
 *
 * <p>Run: {@code mvn -B -o verify -Pbench -pl control-plane -am -Dtest=ControlPlaneApiBenchmark}
 * (the default build never runs a {@code *Benchmark} class). Knobs: {@code -Dbench.creates=2000},
 * {@code -Dbench.levels=1,8,64}, {@code -Dbench.rounds=3}, {@code -Dbench.vms=10000},
 * {@code -Dbench.events=100000}, {@code -Dbench.subscribers=100}, {@code -Dbench.liveEvents=500},
 * {@code -Dbench.pending=10000}, {@code -Dbench.only=create,list,replay,live,pending}, {@code -Dbench.dir=/tmp}
 * (where the databases live).
 * Every measurement and its baseline run in turn, round after round, so machine noise hits both.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class ControlPlaneApiBenchmark {

  static final int CREATES = Integer.getInteger("bench.creates", 2000);
  static final int WARM_CREATES = Integer.getInteger("bench.warmCreates", 200);
  static final List<Integer> LEVELS = Arrays.stream(System.getProperty("bench.levels", "1,8,64").split(","))
      .map(String::trim).map(Integer::valueOf).toList();
  static final int ROUNDS = Integer.getInteger("bench.rounds", 3);
  static final int VMS = Integer.getInteger("bench.vms", 10_000);
  static final int EVENTS = Integer.getInteger("bench.events", 100_000);
  static final int SUBSCRIBERS = Integer.getInteger("bench.subscribers", 100);
  static final int LIVE_EVENTS = Integer.getInteger("bench.liveEvents", 500);
  static final int PENDING = Integer.getInteger("bench.pending", 10_000);
  static final Set<String> ONLY = Arrays.stream(System.getProperty("bench.only", "create,list,replay,live,pending").split(","))
      .map(String::trim).collect(Collectors.toSet());
  private static final JsonFormat.Printer PRINTER = JsonFormat.printer().omittingInsignificantWhitespace();
  private static final JsonFormat.Parser PARSER = JsonFormat.parser().ignoringUnknownFields();

  static final Report REPORT = new Report();
  static Path root;

  @BeforeAll
  static void header() throws Exception {
    root = Files.createTempDirectory(Path.of(Bench.DIR), "mpqemu-cp-bench-");
    REPORT.line("== Control plane API against plain SQLite (mpqemu ControlPlaneApiBenchmark) ==");
    REPORT.line("databases under " + root + " (" + Files.getFileStore(root).type() + "); gRPC over a UNIX socket;"
        + " control plane and clients in one JVM, each in a Vert.x of its own");
    REPORT.line("host: " + Bench.host());
  }

  @AfterAll
  static void save() throws Exception {
    if (cancelledStreams > 0) {
      REPORT.line("");
      REPORT.f("WatchEvents streams cancelled by their client (RST_STREAM CANCEL): %d; subscriptions still registered"
          + " in the event log 1 s after the cancel and the close of the client's connection: %d",
          cancelledStreams, subscriptionsLeftAfterCancel);
    }
    Bench.deleteTree(root);
    REPORT.save("bench-control-plane-api.txt");
  }

  // ================================================================ 1. CreateVm throughput

  @Test
  @Order(1)
  void createThroughput() throws Exception {
    if (!ONLY.contains("create")) {
      return;
    }
    REPORT.line("");
    REPORT.line("-- 1. durable CreateVm (desired STOPPED) against a plain SQLite insert loop --");
    REPORT.f("%d creates per level after %d warm-up creates, each level in a fresh data dir; %d rounds, in each the"
        + " baseline then the API for each level", CREATES, WARM_CREATES, ROUNDS);
    REPORT.line("baseline: one JDBC connection, WAL, synchronous=FULL, the store's own schema; per insert BEGIN IMMEDIATE,"
        + " the vms row (spec and status JSON printed), its 2 label rows, one event row (JSON printed), COMMIT");
    Map<Integer, List<double[]>> results = new LinkedHashMap<>(); // level -> [api/s, base/s, p50 ms, p99 ms]
    REPORT.f("%-6s %-7s %12s %12s %8s %10s %10s %s", "round", "clients", "API cr/s", "SQLite ins/s", "ratio",
        "call p50", "call p99", "load");
    for (int r = 1; r <= ROUNDS; r++) {
      for (int level : LEVELS) {
        double base = sqliteInsertLoop(root.resolve("base-" + r + "-" + level));
        double[] api = apiCreates(root.resolve("api-" + r + "-" + level), level);
        results.computeIfAbsent(level, k -> new ArrayList<>()).add(new double[] {api[0], base, api[1], api[2]});
        REPORT.f("%-6d %-7d %12.1f %12.1f %8.2f %10.2f %10.2f %s", r, level, api[0], base, api[0] / base, api[1], api[2],
            Bench.loadAverage());
      }
    }
    REPORT.line("");
    REPORT.line("summary (median over rounds; ratio = API creates/s / SQLite inserts/s, each round's own pair)");
    REPORT.f("%-7s %12s %12s %14s %22s", "clients", "API cr/s", "SQLite ins/s", "ratio median", "ratio min..max");
    for (Map.Entry<Integer, List<double[]>> e : results.entrySet()) {
      double[] api = e.getValue().stream().mapToDouble(v -> v[0]).toArray();
      double[] base = e.getValue().stream().mapToDouble(v -> v[1]).toArray();
      double[] ratio = e.getValue().stream().mapToDouble(v -> v[0] / v[1]).toArray();
      REPORT.f("%-7d %12.1f %12.1f %14.2f %15.2f..%.2f", e.getKey(), Bench.quantile(api, 0.5), Bench.quantile(base, 0.5),
          Bench.quantile(ratio, 0.5), Bench.min(ratio), Bench.max(ratio));
    }
  }

  /** Inserts per second of the plain loop (after a warm-up in the same file). */
  private double sqliteInsertLoop(Path dir) throws Exception {
    Path file = dir.resolve("control-plane.db");
    SqliteStore.open(file).close(); // the store's schema, nothing else
    try (Connection c = DriverManager.getConnection("jdbc:sqlite:" + file); Statement s = c.createStatement()) {
      s.execute("PRAGMA journal_mode = WAL");
      s.execute("PRAGMA synchronous = FULL");
      try (ResultSet rows = s.executeQuery("PRAGMA synchronous")) {
        rows.next();
        assertThat(rows.getInt(1)).isEqualTo(2);
      }
      PreparedStatement vm = c.prepareStatement("INSERT INTO vms(id, name, spec, desired_state, revision, status, phase,"
          + " node, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
      PreparedStatement label = c.prepareStatement("INSERT INTO vm_labels(vm_id, key, value) VALUES (?, ?, ?)");
      PreparedStatement event = c.prepareStatement("INSERT INTO events(seq, vm_id, json) VALUES (?, ?, ?)");
      PreparedStatement begin = c.prepareStatement("BEGIN IMMEDIATE");
      PreparedStatement commit = c.prepareStatement("COMMIT");
      long seq = 0;
      long t0 = 0;
      for (int i = 0; i < WARM_CREATES + CREATES; i++) {
        if (i == WARM_CREATES) {
          t0 = System.nanoTime();
        }
        String id = UUID.randomUUID().toString();
        VmSpec spec = Bench.spec("b-" + i);
        Instant now = Instant.now();
        VmStatus status = VmStatus.newBuilder().setPhase(Phase.PHASE_STOPPED).setReason("Accepted")
            .setMessage("created stopped").build();
        begin.execute();
        vm.setString(1, id);
        vm.setString(2, spec.getName());
        vm.setString(3, PRINTER.print(spec));
        vm.setString(4, DesiredState.STOPPED.name());
        vm.setLong(5, 1);
        vm.setString(6, PRINTER.print(status));
        vm.setString(7, status.getPhase().name());
        vm.setString(8, "");
        vm.setString(9, now.toString());
        vm.setString(10, now.toString());
        vm.executeUpdate();
        for (Map.Entry<String, String> l : spec.getLabelsMap().entrySet()) {
          label.setString(1, id);
          label.setString(2, l.getKey());
          label.setString(3, l.getValue());
          label.executeUpdate();
        }
        VmEvent e = VmEvent.newBuilder().setSeq(++seq).setVmId(id).setVmName(spec.getName()).setType(EventType.ACCEPTED)
            .setPhase(Phase.PHASE_STOPPED).setReason("Accepted").setMessage("intent stored, desired state STOPPED")
            .setTime(timestamp(now)).build();
        event.setLong(1, seq);
        event.setString(2, id);
        event.setString(3, PRINTER.print(e));
        event.executeUpdate();
        commit.execute();
      }
      double rate = CREATES / ((System.nanoTime() - t0) / 1e9);
      for (PreparedStatement p : List.of(vm, label, event, begin, commit)) {
        p.close();
      }
      return rate;
    } finally {
      Bench.deleteTree(dir);
    }
  }

  /** [creates/s, per-call p50 ms, per-call p99 ms] of {@code clients} closed-loop callers on a fresh control plane. */
  private double[] apiCreates(Path dir, int clients) throws Exception {
    try (ControlPlane cp = new ControlPlane(dir.resolve("data"), dir.resolve("cp.sock")); Clients cl = new Clients()) {
      runCreates(cl, cp.address(), "w", WARM_CREATES, Math.min(clients, 8), new double[WARM_CREATES]);
      double[] latencies = new double[CREATES];
      long t0 = System.nanoTime();
      runCreates(cl, cp.address(), "m", CREATES, clients, latencies);
      double seconds = (System.nanoTime() - t0) / 1e9;
      return new double[] {CREATES / seconds, Bench.quantile(latencies, 0.5), Bench.quantile(latencies, 0.99)};
    } finally {
      Bench.deleteTree(dir);
    }
  }

  /** {@code n} CreateVm calls (desired STOPPED), {@code clients} in flight at any time; fails on any error. */
  static void runCreates(Clients cl, SocketAddress to, String prefix, int n, int clients, double[] latencies)
      throws Exception {
    runCreates(cl, to, prefix, n, clients, latencies, DesiredState.STOPPED);
  }

  /** The same with the desired state given. */
  static void runCreates(Clients cl, SocketAddress to, String prefix, int n, int clients, double[] latencies,
      DesiredState desired) throws Exception {
    Bench.closedLoop(n, clients, latencies, i -> cl.call(to, VmServiceGrpcClient.CreateVm, CreateVmRequest.newBuilder()
        .setSpec(Bench.spec(prefix + "-" + i)).setDesiredState(desired).build()).toCompletionStage());
  }

  // ================================================================ 1b. placement with many VMs waiting

  /**
   * Placing a VM that should run costs about the same whether {@link #PENDING} others wait for a node or the
   * same number are stored but stopped: a create places that VM alone (linear in the nodes), and only a
   * periodic pass or a node's change walks the waiting ones. The control plane has no node, so every VM
   * created RUNNING waits, UNSCHEDULABLE. Both control planes hold the same number of VMs, so the store's
   * size is the same; what differs is only whether they wait.
   */
  @Test
  @Order(5)
  void createsWithManyWaiting() throws Exception {
    if (!ONLY.contains("pending")) {
      return;
    }
    REPORT.line("");
    REPORT.line("-- 1b. CreateVm (desired RUNNING, no node: each waits UNSCHEDULABLE) with " + PENDING + " VMs stored"
        + " STOPPED against with " + PENDING + " VMs already waiting --");
    REPORT.f("%d creates, 8 in flight, after %d warm-up creates; %d rounds, each on fresh control planes, which goes"
        + " first alternating; round 1 is the JVM's first work", CREATES, WARM_CREATES, ROUNDS);
    REPORT.f("%-6s %18s %18s %8s", "round", "none waiting cr/s", PENDING + " waiting cr/s", "ratio");
    List<Double> ratios = new ArrayList<>();
    for (int r = 1; r <= ROUNDS; r++) {
      // in turn which goes first, so that the JIT's warming favours neither
      double none = r % 2 == 1 ? runningCreates(root.resolve("pending-0-" + r), DesiredState.STOPPED) : 0;
      double many = runningCreates(root.resolve("pending-n-" + r), DesiredState.RUNNING);
      none = r % 2 == 0 ? runningCreates(root.resolve("pending-0-" + r), DesiredState.STOPPED) : none;
      ratios.add(many / none);
      REPORT.f("%-6d %18.1f %18.1f %8.2f", r, none, many, many / none);
    }
    double[] v = ratios.stream().mapToDouble(Double::doubleValue).toArray();
    REPORT.f("ratio, %d waiting / none waiting: median %.2f, min..max %.2f..%.2f", PENDING, Bench.quantile(v, 0.5),
        Bench.min(v), Bench.max(v));
  }

  /**
   * Creates/s of RUNNING VMs on a control plane with no node where {@link #PENDING} VMs were created first,
   * {@code before} (RUNNING: they wait; STOPPED: they are only stored).
   */
  private double runningCreates(Path dir, DesiredState before) throws Exception {
    try (ControlPlane cp = new ControlPlane(dir.resolve("data"), dir.resolve("cp.sock")); Clients cl = new Clients()) {
      runCreates(cl, cp.address(), "p", PENDING, 64, new double[PENDING], before);
      runCreates(cl, cp.address(), "w", WARM_CREATES, 8, new double[WARM_CREATES], DesiredState.RUNNING);
      long t0 = System.nanoTime();
      runCreates(cl, cp.address(), "m", CREATES, 8, new double[CREATES], DesiredState.RUNNING);
      double rate = CREATES / ((System.nanoTime() - t0) / 1e9);
      io.mpqemu.v1.Vm last = cl.call(cp.address(), VmServiceGrpcClient.GetVm, io.mpqemu.v1.GetVmRequest.newBuilder()
          .setVm(io.mpqemu.v1.VmRef.newBuilder().setName("m-" + (CREATES - 1))).build()).toCompletionStage()
          .toCompletableFuture().get(30, java.util.concurrent.TimeUnit.SECONDS);
      assertThat(last.getStatus().getPhase()).as("the last VM waits for a node").isEqualTo(Phase.PHASE_PENDING);
      return rate;
    } finally {
      Bench.deleteTree(dir);
    }
  }

  // ================================================================ 2. ListVms of 10,000

  @Test
  @Order(2)
  void listTenThousand() throws Exception {
    if (!ONLY.contains("list")) {
      return;
    }
    REPORT.line("");
    REPORT.f("-- 2. ListVms of %d VMs (page_size 1000) against a plain SQLite SELECT + protobuf JSON parsing --", VMS);
    Path dir = root.resolve("list");
    Path data = dir.resolve("data");
    long t0 = System.nanoTime();
    try (SqliteStore store = SqliteStore.open(data.resolve("control-plane.db"))) {
      Instant now = Instant.now();
      for (int b = 0; b < VMS; b += 1000) {
        Change.Builder change = Change.builder();
        for (int i = b; i < Math.min(VMS, b + 1000); i++) {
          StoredVm vm = new StoredVm(UUID.randomUUID().toString(), Bench.spec("vm-" + i), DesiredState.STOPPED, 1,
              VmStatus.newBuilder().setPhase(Phase.PHASE_STOPPED).setReason("Accepted").setMessage("created stopped")
                  .setLastEventSeq(i + 1).build(), now, now, "");
          change.insert(vm).event(VmEvent.newBuilder().setVmId(vm.id()).setVmName(vm.name()).setType(EventType.ACCEPTED)
              .setPhase(Phase.PHASE_STOPPED).setReason("Accepted").setMessage("intent stored, desired state STOPPED")
              .setTime(timestamp(now)).build());
        }
        store.commit(change.build());
      }
    }
    REPORT.f("seeded %d VMs (+ one ACCEPTED event each) through SqliteStore.commit, 1000 per transaction, in %.1f s;"
        + " then started the control plane on that data dir", VMS, (System.nanoTime() - t0) / 1e9);
    try (ControlPlane cp = new ControlPlane(data, dir.resolve("cp.sock")); Clients cl = new Clients();
        Connection db = DriverManager.getConnection("jdbc:sqlite:" + data.resolve("control-plane.db"))) {
      REPORT.f("control plane start-up with %d VMs to load: %.0f ms", VMS, cp.startMillis);
      int rounds = Math.max(5, ROUNDS * 3);
      int warm = 2;
      List<Double> allApi = new ArrayList<>();
      List<Double> allBase = new ArrayList<>();
      List<Double> pageApi = new ArrayList<>();
      List<Double> pageBase = new ArrayList<>();
      for (int r = 0; r < warm + rounds; r++) {
        long a = System.nanoTime();
        int seen = pageAll(cl, cp.address());
        double api = Bench.ms(a, System.nanoTime());
        assertThat(seen).isEqualTo(VMS);
        long b = System.nanoTime();
        int read = sqliteRead(db, VMS);
        double base = Bench.ms(b, System.nanoTime());
        assertThat(read).isEqualTo(VMS);
        for (int k = 0; k < 5; k++) {
          long p = System.nanoTime();
          ListVmsResponse page = cl.callSync(cp.address(), VmServiceGrpcClient.ListVms, ListVmsRequest.newBuilder().setPageSize(1000).build());
          double one = Bench.ms(p, System.nanoTime());
          assertThat(page.getVmsCount()).isEqualTo(Math.min(1000, VMS));
          long q = System.nanoTime();
          sqliteRead(db, 1000);
          double oneBase = Bench.ms(q, System.nanoTime());
          if (r >= warm) {
            pageApi.add(one);
            pageBase.add(oneBase);
          }
        }
        if (r >= warm) {
          allApi.add(api);
          allBase.add(base);
        }
      }
      REPORT.f("%d rounds after %d warm-up rounds; a round: all pages over gRPC, the baseline's %d rows, then 5 times"
          + " (one page of 1000 over gRPC, the baseline's 1000 rows)", rounds, warm, VMS);
      REPORT.f("%-46s %9s %9s %9s %9s", "(ms)", "median", "p95", "min", "max");
      stat("gRPC: all " + VMS + " VMs, 1000 a page", allApi);
      stat("SQLite: SELECT " + VMS + " rows + parse spec, status", allBase);
      stat("gRPC: one page of 1000", pageApi);
      stat("SQLite: SELECT 1000 rows + parse spec, status", pageBase);
      REPORT.f("ratio gRPC/SQLite (medians): all %d VMs %.2f; one page %.2f", VMS,
          median(allApi) / median(allBase), median(pageApi) / median(pageBase));
      REPORT.f("gRPC paging: %.0f VMs/s; one page of 1000 is %d bytes of protobuf", VMS / (median(allApi) / 1000),
          cl.callSync(cp.address(), VmServiceGrpcClient.ListVms, ListVmsRequest.newBuilder().setPageSize(1000).build()).getSerializedSize());
    } finally {
      Bench.deleteTree(dir);
    }
  }

  static int pageAll(Clients cl, SocketAddress to) {
    int seen = 0;
    String token = "";
    do {
      ListVmsResponse page = cl.callSync(to, VmServiceGrpcClient.ListVms, ListVmsRequest.newBuilder().setPageSize(1000).setPageToken(token).build());
      seen += page.getVmsCount();
      token = page.getNextPageToken();
    } while (!token.isEmpty());
    return seen;
  }

  /** The JSON columns of the first {@code limit} VMs in id order, each spec and status parsed. */
  private static int sqliteRead(Connection db, int limit) throws SQLException, InvalidProtocolBufferException {
    int n = 0;
    try (PreparedStatement q = db.prepareStatement(
        "SELECT id, spec, desired_state, revision, status, created_at, updated_at FROM vms ORDER BY id LIMIT ?")) {
      q.setInt(1, limit);
      try (ResultSet rows = q.executeQuery()) {
        while (rows.next()) {
          VmSpec.Builder spec = VmSpec.newBuilder();
          PARSER.merge(rows.getString(2), spec);
          VmStatus.Builder status = VmStatus.newBuilder();
          PARSER.merge(rows.getString(5), status);
          Vm vm = Vm.newBuilder().setId(rows.getString(1)).setSpec(spec).setStatus(status).build();
          if (vm.getId().isEmpty()) {
            throw new AssertionError();
          }
          n++;
        }
      }
    }
    return n;
  }

  // ================================================================ 3. WatchEvents replay

  @Test
  @Order(3)
  void replayHundredThousand() throws Exception {
    if (!ONLY.contains("replay")) {
      return;
    }
    REPORT.line("");
    REPORT.f("-- 3. WatchEvents replay of %d events from from_seq 0 against a plain SQLite SELECT + parse --", EVENTS);
    Path dir = root.resolve("replay");
    Path data = dir.resolve("data");
    long t0 = System.nanoTime();
    long bytes = 0;
    try (SqliteStore store = SqliteStore.open(data.resolve("control-plane.db"))) {
      for (int b = 0; b < EVENTS; b += 5000) {
        Change.Builder change = Change.builder();
        for (int i = b; i < Math.min(EVENTS, b + 5000); i++) {
          VmEvent e = seedEvent(i);
          bytes += PRINTER.print(e).length();
          change.event(e);
        }
        store.commit(change.build());
      }
    }
    REPORT.f("seeded %d events (a VM's life cycle: ACCEPTED, SCHEDULED, LAUNCH_STARTED, 2x PROCESS_STARTED, LAUNCHED;"
        + " mean JSON %d bytes) through SqliteStore.commit, 5000 per transaction, in %.1f s", EVENTS, bytes / EVENTS,
        (System.nanoTime() - t0) / 1e9);
    try (Clients cl = new Clients();
        Connection db = DriverManager.getConnection("jdbc:sqlite:" + data.resolve("control-plane.db"))) {
      REPORT.line("each round starts a control plane on that data dir (a cancelled WatchEvents stays subscribed,"
          + " see the end of this report), subscribes from 0, then reads the events from SQLite directly");
      int rounds = Math.max(3, ROUNDS);
      List<Double> api = new ArrayList<>();
      List<Double> first = new ArrayList<>();
      List<Double> base = new ArrayList<>();
      REPORT.f("%-8s %14s %14s %14s %8s", "round", "gRPC (ms)", "first ev (ms)", "SQLite (ms)", "ratio");
      for (int r = 0; r < 1 + rounds; r++) {
        double[] g;
        try (ControlPlane cp = new ControlPlane(data, dir.resolve("cp.sock"))) {
          g = replay(cl, cp);
        }
        long b = System.nanoTime();
        int read = sqliteEvents(db);
        double s = Bench.ms(b, System.nanoTime());
        assertThat(read).isEqualTo(EVENTS);
        REPORT.f("%-8s %14.0f %14.1f %14.0f %8.2f", r == 0 ? "warm-up" : "" + r, g[0], g[1], s, g[0] / s);
        if (r > 0) {
          api.add(g[0]);
          first.add(g[1]);
          base.add(s);
        }
      }
      REPORT.f("%-46s %9s %9s %9s %9s", "(ms)", "median", "p95", "min", "max");
      stat("gRPC: subscribe from 0 -> event " + EVENTS + " arrives", api);
      stat("gRPC: subscribe from 0 -> first event arrives", first);
      stat("SQLite: SELECT " + EVENTS + " events + parse", base);
      REPORT.f("ratio gRPC/SQLite (medians) %.2f; gRPC replay %.0f events/s, SQLite %.0f events/s",
          median(api) / median(base), EVENTS / (median(api) / 1000), EVENTS / (median(base) / 1000));
    } finally {
      Bench.deleteTree(dir);
    }
  }

  /** [ms to the last event, ms to the first event]; checks the seqs are 1..EVENTS in order. */
  private static double[] replay(Clients cl, ControlPlane cp) throws Exception {
    AtomicLong expected = new AtomicLong(1);
    AtomicLong firstAt = new AtomicLong();
    CompletableFuture<Long> done = new CompletableFuture<>();
    GrpcClient client = cl.newClient();
    long t0 = System.nanoTime();
    GrpcClientRequest<WatchEventsRequest, VmEvent> req = Clients.watch(client, cp.address(), 0, e -> {
      long seq = expected.getAndIncrement();
      if (seq == 1) {
        firstAt.set(System.nanoTime());
      }
      if (e.getSeq() != seq) {
        done.completeExceptionally(new AssertionError("event " + e.getSeq() + " arrived where " + seq + " was due"));
      } else if (seq == EVENTS) {
        done.complete(System.nanoTime());
      }
    });
    long end = done.get(5, TimeUnit.MINUTES);
    req.cancel();
    Await.result(client.close(), Bench.WAIT);
    leftAfterCancel(cp, 1);
    return new double[] {Bench.ms(t0, end), Bench.ms(t0, firstAt.get())};
  }

  private static int sqliteEvents(Connection db) throws SQLException, InvalidProtocolBufferException {
    int n = 0;
    try (Statement s = db.createStatement(); ResultSet rows = s.executeQuery("SELECT seq, json FROM events ORDER BY seq")) {
      while (rows.next()) {
        VmEvent.Builder e = VmEvent.newBuilder();
        PARSER.merge(rows.getString(2), e);
        if (e.getSeq() != rows.getLong(1)) {
          throw new AssertionError("seq " + rows.getLong(1));
        }
        n++;
      }
    }
    return n;
  }

  private static VmEvent seedEvent(int i) {
    int vm = i / 6;
    String id = new UUID(0x6d70716575L, vm).toString();
    VmEvent.Builder e = VmEvent.newBuilder().setVmId(id).setVmName("vm-" + vm).setNode("node-" + (vm % 4))
        .setTime(Timestamp.newBuilder().setSeconds(1_790_000_000L + i).setNanos(123_456_000));
    switch (i % 6) {
      case 0 -> e.setType(EventType.ACCEPTED).setPhase(Phase.PHASE_PENDING).setReason("Accepted")
          .setMessage("intent stored, desired state RUNNING").setNode("");
      case 1 -> e.setType(EventType.SCHEDULED).setPhase(Phase.PHASE_SCHEDULED).setReason("Scheduled")
          .setMessage("placed on node node-" + (vm % 4));
      case 2 -> e.setType(EventType.LAUNCH_STARTED).setPhase(Phase.PHASE_LAUNCHING).setReason("LaunchStarted")
          .setMessage("launching").setVmSeq(1);
      case 3 -> e.setType(EventType.PROCESS_STARTED).setPhase(Phase.PHASE_LAUNCHING).setReason("ProcessStarted")
          .setMessage("device process lsi0 started").setVmSeq(2).setProcess(ProcessStatus.newBuilder().setName("lsi0")
              .setRole(ProcessRole.PROCESS_ROLE_DEVICE).setPid(10_000 + vm).setState(ProcessState.PROCESS_STATE_RUNNING));
      case 4 -> e.setType(EventType.PROCESS_STARTED).setPhase(Phase.PHASE_LAUNCHING).setReason("ProcessStarted")
          .setMessage("main QEMU started").setVmSeq(3).setProcess(ProcessStatus.newBuilder().setName("main")
              .setRole(ProcessRole.PROCESS_ROLE_MAIN).setPid(20_000 + vm).setState(ProcessState.PROCESS_STATE_RUNNING));
      default -> e.setType(EventType.LAUNCHED).setPhase(Phase.PHASE_RUNNING).setReason("Launched")
          .setMessage("launched in 87 ms").setVmSeq(4);
    }
    return e.build();
  }

  // ================================================================ 4. live subscribers

  @Test
  @Order(4)
  void liveSubscribers() throws Exception {
    if (!ONLY.contains("live")) {
      return;
    }
    REPORT.line("");
    REPORT.f("-- 4. live delivery: %d WatchEvents subscribers from the end of the log against 1 subscriber --",
        SUBSCRIBERS);
    REPORT.f("per run: subscribe, then %d CreateVm (STOPPED) one after the other = %d ACCEPTED events; latency per"
        + " event per subscriber = arrival (wall clock) - the event's time field (set by the control plane just before"
        + " its commit, so it includes the commit's fsync); each subscriber on a gRPC client (HTTP/2 connection) of its"
        + " own; %d rounds, 1 subscriber then %d in each", LIVE_EVENTS, LIVE_EVENTS, ROUNDS, SUBSCRIBERS);
    REPORT.line("each run starts a control plane on the same data dir (a cancelled WatchEvents stays subscribed, see"
        + " the end of this report)");
    Path dir = root.resolve("live");
    Path data = dir.resolve("data");
    try (Clients cl = new Clients()) {
      try (ControlPlane cp = new ControlPlane(data, dir.resolve("cp.sock"))) {
        // warm-up: creates and a run with a few subscribers
        runCreates(cl, cp.address(), "warm", WARM_CREATES, 1, new double[WARM_CREATES]);
        live(cl, cp, Math.min(10, SUBSCRIBERS), "warm2", false);
      }
      Map<Integer, List<double[]>> results = new LinkedHashMap<>();
      REPORT.f("%-6s %5s %10s %10s %10s %14s %14s %12s %s", "round", "subs", "p50 ms", "p99 ms", "max ms",
          "all-subs p50", "all-subs p99", "create p50", "load");
      for (int r = 1; r <= ROUNDS; r++) {
        for (int subs : new int[] {1, SUBSCRIBERS}) {
          double[] v;
          try (ControlPlane cp = new ControlPlane(data, dir.resolve("cp.sock"))) {
            v = live(cl, cp, subs, "r" + r + "s" + subs, true);
          }
          results.computeIfAbsent(subs, k -> new ArrayList<>()).add(v);
          REPORT.f("%-6d %5d %10.2f %10.2f %10.2f %14.2f %14.2f %12.2f %s", r, subs, v[0], v[1], v[2], v[3], v[4], v[5],
              Bench.loadAverage());
        }
      }
      double[] one = results.get(1).stream().mapToDouble(v -> v[0]).toArray();
      double[] many = results.get(SUBSCRIBERS).stream().mapToDouble(v -> v[0]).toArray();
      double[] one99 = results.get(1).stream().mapToDouble(v -> v[1]).toArray();
      double[] many99 = results.get(SUBSCRIBERS).stream().mapToDouble(v -> v[1]).toArray();
      REPORT.f("ratio %d subscribers / 1 (median over rounds): p50 %.2f (%.2f / %.2f ms), p99 %.2f (%.2f / %.2f ms);"
          + " every subscriber got every event, in seq order, in every run", SUBSCRIBERS,
          Bench.quantile(many, 0.5) / Bench.quantile(one, 0.5), Bench.quantile(many, 0.5), Bench.quantile(one, 0.5),
          Bench.quantile(many99, 0.5) / Bench.quantile(one99, 0.5), Bench.quantile(many99, 0.5),
          Bench.quantile(one99, 0.5));
    } finally {
      Bench.deleteTree(dir);
    }
  }

  /**
   * One run: {@code subs} subscribers from the end of the log, then LIVE_EVENTS creates, one at a time.
   * Returns [p50, p99, max of every (event, subscriber) latency; p50, p99 of each event's latency to its
   * last subscriber; CreateVm p50], in ms.
   */
  private static double[] live(Clients cl, ControlPlane cp, int subs, String prefix, boolean check) throws Exception {
    Vm marker = cl.callSync(cp.address(), VmServiceGrpcClient.CreateVm, CreateVmRequest.newBuilder().setSpec(Bench.spec(prefix + "-marker"))
        .setDesiredState(DesiredState.STOPPED).build());
    long from = marker.getStatus().getLastEventSeq();
    assertThat(from).isPositive();
    List<List<long[]>> got = new ArrayList<>(); // per subscriber: [seq, arrival epoch ns, event time epoch ns]
    List<GrpcClient> clients = new ArrayList<>();
    List<GrpcClientRequest<WatchEventsRequest, VmEvent>> streams = new ArrayList<>();
    AtomicInteger complete = new AtomicInteger();
    CompletableFuture<Void> allDone = new CompletableFuture<>();
    for (int s = 0; s < subs; s++) {
      List<long[]> mine = Collections.synchronizedList(new ArrayList<>(LIVE_EVENTS));
      got.add(mine);
      GrpcClient client = cl.newClient();
      clients.add(client);
      streams.add(Clients.watch(client, cp.address(), from, e -> {
        Instant now = Instant.now();
        mine.add(new long[] {e.getSeq(), now.getEpochSecond() * 1_000_000_000L + now.getNano(),
            e.getTime().getSeconds() * 1_000_000_000L + e.getTime().getNanos()});
        if (mine.size() == LIVE_EVENTS && complete.incrementAndGet() == subs) {
          allDone.complete(null);
        }
      }));
    }
    awaitSubscribers(cp, subs);
    double[] createMs = new double[LIVE_EVENTS];
    runCreates(cl, cp.address(), prefix, LIVE_EVENTS, 1, createMs);
    allDone.get(2, TimeUnit.MINUTES);
    for (GrpcClientRequest<WatchEventsRequest, VmEvent> s : streams) {
      s.cancel();
    }
    for (GrpcClient c : clients) {
      Await.result(c.close(), Bench.WAIT);
    }
    leftAfterCancel(cp, subs);
    double[] all = new double[subs * LIVE_EVENTS];
    double[] lastPerEvent = new double[LIVE_EVENTS];
    int k = 0;
    for (List<long[]> mine : got) {
      synchronized (mine) {
        if (check) {
          assertThat(mine).hasSize(LIVE_EVENTS);
        }
        for (int i = 0; i < LIVE_EVENTS; i++) {
          long[] v = mine.get(i);
          if (v[0] != from + 1 + i) {
            throw new AssertionError("a subscriber got seq " + v[0] + " where " + (from + 1 + i) + " was due");
          }
          double lat = (v[1] - v[2]) / 1e6;
          all[k++] = lat;
          lastPerEvent[i] = Math.max(lastPerEvent[i], lat);
        }
      }
    }
    return new double[] {Bench.quantile(all, 0.5), Bench.quantile(all, 0.99), Bench.max(all),
        Bench.quantile(lastPerEvent, 0.5), Bench.quantile(lastPerEvent, 0.99), Bench.quantile(createMs, 0.5)};
  }

  static int cancelledStreams;
  static int subscriptionsLeftAfterCancel;

  /**
   * Counts the subscriptions still registered 1 s after their clients cancelled {@code n} WatchEvents
   * streams and closed their connections (nothing else is subscribed then).
   */
  static void leftAfterCancel(ControlPlane cp, int n) {
    Await.sleep(1000);
    cancelledStreams += n;
    subscriptionsLeftAfterCancel += cp.verticle.eventLog().subscriberCount();
  }

  /** Waits until the event log has {@code n} subscriptions (the server side of WatchEvents registers after the headers). */
  static void awaitSubscribers(ControlPlane cp, int n) {
    Await.atMost(Duration.ofSeconds(30)).every(Duration.ofMillis(1))
        .until(() -> cp.verticle.eventLog().subscriberCount(), count -> count == n,
            count -> "the event log has " + count + " subscriptions, " + n + " expected");
  }

  // ================================================================ helpers

  private static void stat(String what, List<Double> values) {
    double[] v = values.stream().mapToDouble(Double::doubleValue).toArray();
    REPORT.f("%-46s %9.1f %9.1f %9.1f %9.1f", what, Bench.quantile(v, 0.5), Bench.quantile(v, 0.95), Bench.min(v),
        Bench.max(v));
  }

  private static double median(List<Double> values) {
    return Bench.quantile(values.stream().mapToDouble(Double::doubleValue).toArray(), 0.5);
  }

  static Timestamp timestamp(Instant t) {
    return Timestamp.newBuilder().setSeconds(t.getEpochSecond()).setNanos(t.getNano()).build();
  }
}
