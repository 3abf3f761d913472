package io.mpqemu.controlplane.bench;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.util.JsonFormat;
import io.mpqemu.controlplane.bench.Bench.Clients;
import io.mpqemu.controlplane.bench.Bench.ControlPlane;
import io.mpqemu.controlplane.bench.Bench.Report;
import io.mpqemu.controlplane.store.Change;
import io.mpqemu.controlplane.store.PostgresTarget;
import io.mpqemu.controlplane.store.Store;
import io.mpqemu.controlplane.store.StoreExecutor;
import io.mpqemu.controlplane.store.StoreTarget;
import io.mpqemu.controlplane.store.StoredVm;
import io.mpqemu.controlplane.store.VmFilter;
import io.mpqemu.testing.Await;
import io.mpqemu.testing.PostgresServer;
import io.mpqemu.testing.Ports;
import io.mpqemu.testing.ServiceJvm;
import io.mpqemu.v1.DesiredState;
import io.mpqemu.v1.EventType;
import io.mpqemu.v1.ListVmsRequest;
import io.mpqemu.v1.ListVmsResponse;
import io.mpqemu.v1.Phase;
import io.mpqemu.v1.Vm;
import io.mpqemu.v1.VmEvent;
import io.mpqemu.v1.VmServiceGrpcClient;
import io.mpqemu.v1.VmSpec;
import io.mpqemu.v1.VmStatus;
import io.vertx.core.Context;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
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
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;

/**
 * Issue 13's figures for BOTH store engines in one run, each beside its baseline on the same server:
 * durable CreateVm/s against group-committed JDBC inserts of the same rows with the same number in
 * flight; ListVms of 100,000 stored VMs (all pages, one label-selected page) against a JDBC SELECT and
 * parse; the heap of a control plane (a JVM of its own) holding 100,000 VMs against an empty one; and
 * the time from kill -9 to /readyz 200 with 100,000 VMs against the same on an empty store.
 *
 * <p>Run: {@code mvn -B -o verify -Pbench -pl control-plane -am -Dtest=StoreEnginesBenchmark
 * -Dsurefire.failIfNoSpecifiedTests=false}. Knobs: {@code -Dbench.inFlight=64}, {@code -Dbench.creates=3000},
 * {@code -Dbench.warmCreates=300}, {@code -Dbench.rounds=9}, {@code -Dbench.warmSeconds=40}, {@code -Dbench.vms=100000},
 * {@code -Dbench.listRounds=5}, {@code -Dbench.listWarmRounds=2}, {@code -Dbench.restarts=3}, {@code -Dbench.childXmx=512m} (the shipped
 * systemd unit's), {@code -Dbench.engines=sqlite,postgresql}, {@code -Dbench.kinds=JDBC,store,API} (all three for the ratios), {@code -Dbench.only=create,stored},
 * {@code -Dbench.dir=/tmp}. A benchmark, not a test: it checks the work was done, never a timing.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class StoreEnginesBenchmark {

  static final int IN_FLIGHT = Integer.getInteger("bench.inFlight", 64);
  static final int CREATES = Integer.getInteger("bench.creates", 3000);
  static final int WARM = Integer.getInteger("bench.warmCreates", 300);
  static final int ROUNDS = Integer.getInteger("bench.rounds", 9);
  static final int WARM_SECONDS = Integer.getInteger("bench.warmSeconds", 40);
  static final int VMS = Integer.getInteger("bench.vms", 100_000);
  static final int LIST_ROUNDS = Integer.getInteger("bench.listRounds", 5);
  static final int LIST_WARM_ROUNDS = Integer.getInteger("bench.listWarmRounds", 2);
  static final int RESTARTS = Integer.getInteger("bench.restarts", 3);
  static final String CHILD_XMX = System.getProperty("bench.childXmx", "512m");
  static final List<String> ENGINES = Arrays.stream(System.getProperty("bench.engines", "sqlite,postgresql").split(","))
      .map(String::trim).toList();
  static final Set<String> ONLY = Arrays.stream(System.getProperty("bench.only", "create,stored").split(","))
      .map(String::trim).collect(Collectors.toSet());
  static final List<String> KINDS = Arrays.stream(System.getProperty("bench.kinds", "JDBC,store,API").split(","))
      .map(String::trim).toList();
  static final String SELECTOR = "shard=7";
  static final Duration START_WITHIN = Duration.ofMinutes(3);

  private static final JsonFormat.Printer PRINTER = JsonFormat.printer().omittingInsignificantWhitespace();
  private static final JsonFormat.Parser PARSER = JsonFormat.parser().ignoringUnknownFields();
  private static final VmStatus STOPPED = VmStatus.newBuilder().setPhase(Phase.PHASE_STOPPED).setReason("Accepted")
      .setMessage("created stopped").build();

  static final Report REPORT = new Report();
  static final List<String[]> SUMMARY = new ArrayList<>();
  static Path root;
  static PostgresServer postgres;
  static List<Engine> engines;

  @BeforeAll
  static void start() throws Exception {
    root = Files.createTempDirectory(Path.of(Bench.DIR), "mpqemu-se-bench-");
    REPORT.line("== Store engines: issue 13's figures on SQLite and PostgreSQL (mpqemu StoreEnginesBenchmark) ==");
    REPORT.line("host: " + Bench.host() + "; files under " + root + " (" + Files.getFileStore(root).type() + ")");
    engines = new ArrayList<>();
    for (String name : ENGINES) {
      if (name.equals("postgresql")) {
        postgres = PostgresServer.create();
        // the fixture runs with shared_buffers = 16MB; a stock PostgreSQL has 128MB
        try (Connection admin = postgres.superuser("postgres"); Statement s = admin.createStatement()) {
          s.execute("ALTER SYSTEM SET shared_buffers = '128MB'");
        }
        postgres.stop();
        postgres.start();
        try (Connection admin = postgres.superuser("postgres"); Statement s = admin.createStatement()) {
          REPORT.f("PostgreSQL: %s on 127.0.0.1:%d (TCP, as the store connects), shared_buffers %s, fsync %s,"
              + " synchronous_commit %s, wal_sync_method %s", one(s, "SELECT version()").replaceFirst(" on .*", ""),
              postgres.port(), one(s, "SHOW shared_buffers"), one(s, "SHOW fsync"), one(s, "SHOW synchronous_commit"),
              one(s, "SHOW wal_sync_method"));
        }
        engines.add(new Engine("PostgreSQL", true));
        roundTrip();
      } else {
        engines.add(new Engine("SQLite", false));
      }
    }
    REPORT.line("SQLite: the store's file in WAL with synchronous=FULL, on the file system above");
    jsonCost();
  }

  /**
   * On one thread, after warm-up: printing one create's spec, status and event as JSON (the store does it
   * on its writer thread, per change), and parsing a stored VM's spec and status (per VM listed or loaded).
   */
  private static void jsonCost() throws InvalidProtocolBufferException {
    StoredVm vm = stoppedVm(new UUID(1, 1).toString(), seededSpec(1), Instant.now());
    VmEvent event = accepted(vm).toBuilder().setSeq(1).build();
    String spec = PRINTER.print(vm.spec());
    String status = PRINTER.print(vm.status());
    int n = 20_000;
    long printed = 0;
    long parsed = 0;
    for (int i = -n; i < n; i++) {
      long t = System.nanoTime();
      int chars = PRINTER.print(vm.spec()).length() + PRINTER.print(vm.status()).length() + PRINTER.print(event).length();
      long u = System.nanoTime();
      PARSER.merge(spec, VmSpec.newBuilder());
      PARSER.merge(status, VmStatus.newBuilder());
      if (i >= 0 && chars > 0) {
        printed += u - t;
        parsed += System.nanoTime() - u;
      }
    }
    REPORT.f("protobuf JSON on one thread: printing a create's spec, status and event %.1f us; parsing a VM's spec and"
        + " status (%d + %d chars) %.1f us", printed / 1e3 / n, spec.length(), status.length(), parsed / 1e3 / n);
  }

  @AfterAll
  static void finish() throws Exception {
    try {
      REPORT.line("");
      REPORT.line("== summary: each figure beside its baseline (medians; ratio = figure / baseline) ==");
      REPORT.f("%-54s %-10s %14s %14s %7s %-16s %s", "figure", "engine", "value", "baseline", "ratio", "target", "met");
      for (String[] row : SUMMARY) {
        REPORT.f("%-54s %-10s %14s %14s %7s %-16s %s", (Object[]) row);
      }
    } finally {
      if (postgres != null) {
        postgres.close();
      }
      Bench.deleteTree(root);
      REPORT.save("bench-store-engines.txt");
    }
  }

  /** The time of one statement's round trip to PostgreSQL (a prepared SELECT 1), which the store pays per statement. */
  private static void roundTrip() throws SQLException {
    try (Connection c = postgres.superuser("postgres"); PreparedStatement q = c.prepareStatement("SELECT 1")) {
      double[] us = new double[3000];
      for (int i = -1000; i < us.length; i++) {
        long t = System.nanoTime();
        try (ResultSet rows = q.executeQuery()) {
          rows.next();
        }
        if (i >= 0) {
          us[i] = (System.nanoTime() - t) / 1e3;
        }
      }
      REPORT.f("PostgreSQL round trip of one prepared statement (SELECT 1, autocommit, after 1000 warm-up): median %.0f us,"
          + " p90 %.0f us", Bench.quantile(us, 0.5), Bench.quantile(us, 0.9));
    }
  }

  // ================================================================ 1. durable CreateVm/s

  @Test
  @Order(1)
  void creates() throws Exception {
    if (!ONLY.contains("create")) {
      return;
    }
    REPORT.line("");
    REPORT.f("-- 1. durable CreateVm (desired STOPPED), %d in flight, against group-committed JDBC inserts --", IN_FLIGHT);
    REPORT.f("per run: a fresh store, %d warm-up creates, then %d measured; rounds are warm-up until %d s have passed"
        + " (the JIT compiles the API's gRPC, HTTP/2 and protobuf paths for about that long on 2 cores: measured rounds"
        + " before it kept rising), then %d measured; the order of the three runs and of the engines rotates each round",
        WARM, CREATES, WARM_SECONDS, ROUNDS);
    REPORT.line("API: CreateVm over gRPC (UNIX socket) to a ControlPlaneVerticle on the engine, clients in their own"
        + " Vert.x in this JVM");
    REPORT.line("store: StoreExecutor.commit of the same Change CreateVm writes (insert + ACCEPTED event), no gRPC:"
        + " what the store's group commit does alone");
    REPORT.line("JDBC: the baseline. One writer thread takes everything queued, one transaction: seq read under the"
        + " writer lock (PostgreSQL: event_counter FOR UPDATE, then UPDATE; SQLite: MAX(seq)), JDBC batches of the vms"
        + " rows (spec and status JSON), 2 label rows each, the event rows (JSON with its seq), COMMIT; PostgreSQL with"
        + " reWriteBatchedInserts; spec JSON printed by 2 client threads");
    List<String> kinds = KINDS;
    Map<String, Map<String, List<Double>>> rates = new java.util.LinkedHashMap<>();
    Map<String, Map<String, List<Double>>> groups = new java.util.LinkedHashMap<>();
    REPORT.f("%-6s %-10s %-6s %12s %12s %s", "round", "engine", "run", "creates/s", "mean group", "load");
    long warmUntil = System.nanoTime() + TimeUnit.SECONDS.toNanos(WARM_SECONDS);
    for (int r = 0, measured = 0; measured < ROUNDS; r++) {
      boolean warm = r == 0 || System.nanoTime() < warmUntil;
      measured += warm ? 0 : 1;
      for (int e = 0; e < engines.size(); e++) {
        Engine engine = engines.get((e + r) % engines.size());
        for (int k = 0; k < kinds.size(); k++) {
          String kind = kinds.get((k + r) % kinds.size());
          Fresh fresh = engine.fresh("c" + r + kind.toLowerCase());
          double[] v;
          try {
            v = switch (kind) {
              case "JDBC" -> baselineCreates(fresh);
              case "store" -> storeCreates(fresh);
              default -> apiCreates(fresh);
            };
          } finally {
            fresh.drop();
          }
          REPORT.f("%-6s %-10s %-6s %12.0f %12s %s", warm ? "warm" : "" + measured, engine.name, kind, v[0],
              Double.isNaN(v[1]) ? "n/a" : String.format(java.util.Locale.ROOT, "%.1f", v[1]), Bench.loadAverage());
          if (!warm) {
            rates.computeIfAbsent(engine.name, n -> new java.util.LinkedHashMap<>())
                .computeIfAbsent(kind, n -> new ArrayList<>()).add(v[0]);
            groups.computeIfAbsent(engine.name, n -> new java.util.LinkedHashMap<>())
                .computeIfAbsent(kind, n -> new ArrayList<>()).add(v[1]);
          }
        }
      }
    }
    if (!kinds.containsAll(List.of("JDBC", "store", "API"))) {
      return; // a profiling run of some kinds: no ratios
    }
    REPORT.line("");
    REPORT.f("medians over %d rounds (creates/s); ratio = median of each round's API/JDBC", ROUNDS);
    REPORT.f("%-10s %10s %10s %10s %10s %10s %14s %14s", "engine", "API", "store", "JDBC", "API/JDBC", "store/JDBC",
        "ratio min..max", "groups A/S/J");
    for (Engine engine : engines) {
      Map<String, List<Double>> m = rates.get(engine.name);
      double[] ratios = new double[m.get("API").size()];
      for (int i = 0; i < ratios.length; i++) {
        ratios[i] = m.get("API").get(i) / m.get("JDBC").get(i);
      }
      double api = median(m.get("API"));
      double base = median(m.get("JDBC"));
      double ratio = Bench.quantile(ratios, 0.5);
      Map<String, List<Double>> g = groups.get(engine.name);
      REPORT.f("%-10s %10.0f %10.0f %10.0f %10.2f %10.2f %7.2f..%.2f %14s", engine.name, api, median(m.get("store")),
          base, ratio, median(m.get("store")) / base, Bench.min(ratios), Bench.max(ratios),
          String.format(java.util.Locale.ROOT, "%.1f/%.1f/%.1f", median(g.get("API")), median(g.get("store")),
              median(g.get("JDBC"))));
      summary("durable CreateVm/s, " + IN_FLIGHT + " in flight (vs group-committed JDBC)", engine.name,
          String.format(java.util.Locale.ROOT, "%.0f /s", api), String.format(java.util.Locale.ROOT, "%.0f /s", base),
          ratio, ">= 0.7x", ratio >= 0.7);
    }
  }

  /** [creates/s, mean transactions' size] of the baseline: one writer thread group-committing JDBC batches. */
  private double[] baselineCreates(Fresh fresh) throws Exception {
    fresh.target.open().close(); // the store's schema, nothing else
    ExecutorService clients = Executors.newFixedThreadPool(2);
    try (Connection c = fresh.connect(); GroupCommitWriter writer = new GroupCommitWriter(c, fresh.engine.postgres)) {
      Bench.closedLoop(WARM, IN_FLIGHT, null, i -> writer.prepareAndSubmit("w-" + i, clients));
      long tx = writer.transactions;
      long xid = fresh.xid();
      long t0 = System.nanoTime();
      Bench.closedLoop(CREATES, IN_FLIGHT, null, i -> writer.prepareAndSubmit("m-" + i, clients));
      double seconds = (System.nanoTime() - t0) / 1e9;
      if (fresh.db != null) { // checks the xid count that the store's and the API's group sizes rest on
        REPORT.f("       (group size of this JDBC run by the writer's own count %.1f, by PostgreSQL's xids %.1f)",
            CREATES / (double) (writer.transactions - tx), fresh.meanGroup(xid, fresh.xid(), CREATES));
      }
      assertThat(count(c, "SELECT COUNT(*) FROM vms")).isEqualTo(WARM + CREATES);
      return new double[] {CREATES / seconds, CREATES / (double) (writer.transactions - tx)};
    } finally {
      clients.shutdownNow();
    }
  }

  /** [creates/s, mean group] of StoreExecutor.commit alone, the loop on one Vert.x context, as VmIntents does. */
  private double[] storeCreates(Fresh fresh) throws Exception {
    Vertx vertx = Vertx.builder().with(new VertxOptions().setPreferNativeTransport(true)).build();
    try {
      Context context = vertx.getOrCreateContext();
      StoreExecutor store = new StoreExecutor(vertx, fresh.target.open());
      try {
        Bench.closedLoop(WARM, IN_FLIGHT, null, i -> commitOn(context, store, "w-" + i));
        long groups = store.groupCommits();
        long t0 = System.nanoTime();
        Bench.closedLoop(CREATES, IN_FLIGHT, null, i -> commitOn(context, store, "m-" + i));
        double seconds = (System.nanoTime() - t0) / 1e9;
        return new double[] {CREATES / seconds, CREATES / (double) (store.groupCommits() - groups)};
      } finally {
        store.close();
      }
    } finally {
      Await.result(vertx.close(), Bench.WAIT);
    }
  }

  private static java.util.concurrent.CompletionStage<?> commitOn(Context context, StoreExecutor store, String name) {
    Promise<List<VmEvent>> done = Promise.promise();
    context.runOnContext(v -> {
      StoredVm vm = stoppedVm(UUID.randomUUID().toString(), Bench.spec(name), Instant.now());
      store.commit(Change.builder().insert(vm).event(accepted(vm)).build()).onComplete(ar -> {
        if (ar.succeeded()) {
          done.complete(ar.result());
        } else {
          done.fail(ar.cause());
        }
      });
    });
    return done.future().toCompletionStage();
  }

  /** [creates/s, mean group] of CreateVm over gRPC to a control plane on the engine. */
  private double[] apiCreates(Fresh fresh) throws Exception {
    try (ControlPlane cp = new ControlPlane(fresh.data(), fresh.dir.resolve("cp.sock"), fresh.target);
        Clients cl = new Clients()) {
      long seqAtStart = cp.verticle.eventLog().lastSeq(); // on PostgreSQL its LEADER_ELECTED is recorded first
      ControlPlaneApiBenchmark.runCreates(cl, cp.address(), "w", WARM, IN_FLIGHT, new double[WARM]);
      StoreExecutor store = cp.verticle.storeExecutor();
      long groups = store.groupCommits();
      long t0 = System.nanoTime();
      ControlPlaneApiBenchmark.runCreates(cl, cp.address(), "m", CREATES, IN_FLIGHT, new double[CREATES]);
      double seconds = (System.nanoTime() - t0) / 1e9;
      long groupsAfter = store.groupCommits();
      assertThat(cp.verticle.eventLog().lastSeq() - seqAtStart).isEqualTo(WARM + CREATES);
      return new double[] {CREATES / seconds, CREATES / (double) (groupsAfter - groups)};
    }
  }

  // ================================================================ 2-4. 100,000 stored VMs

  @Test
  @Order(2)
  void hundredThousandStored() throws Exception {
    if (!ONLY.contains("stored")) {
      return;
    }
    for (Engine engine : engines) {
      Fresh seeded = engine.fresh("seeded");
      try {
        REPORT.line("");
        REPORT.f("-- 2. ListVms of %d stored VMs on %s --", VMS, engine.name);
        seed(seeded);
        list(seeded);
        REPORT.line("");
        REPORT.f("-- 3 and 4. heap, and kill -9 to /readyz 200, of a control plane in its own JVM (-Xmx%s, as the"
            + " shipped systemd unit) on %s --", CHILD_XMX, engine.name);
        Fresh empty = engine.fresh("empty");
        try {
          double[] base = childRuns(empty, "empty store", CHILD_XMX);
          double[] full;
          try {
            full = childRuns(seeded, VMS + " VMs", CHILD_XMX);
          } catch (AssertionError | Exception e) {
            String first = String.valueOf(e.getMessage()).lines().findFirst().orElse("");
            REPORT.f("with %d VMs the control plane did not become ready under -Xmx%s (%s); again with -Xmx2g", VMS,
                CHILD_XMX, first);
            full = childRuns(seeded, VMS + " VMs", "2g");
          }
          summary("heap used after full GC, " + VMS + " VMs (vs empty store)", engine.name, mib(full[0]), mib(base[0]),
              full[0] / base[0], "< 1 GiB", full[0] < 1024.0 * 1024 * 1024);
          summary("kill -9 -> /readyz 200, " + VMS + " VMs (vs empty store)", engine.name, ms(full[2]), ms(base[2]),
              full[2] / base[2], "< 10 s", full[2] < 10_000);
          summary("  first start -> /readyz 200 (vs empty store)", engine.name, ms(full[1]), ms(base[1]),
              full[1] / base[1], "", null);
        } finally {
          empty.drop();
        }
      } finally {
        seeded.drop();
      }
    }
  }

  /**
   * VMS stopped VMs with their ACCEPTED events, through Store.commitAll: 1000 changes per transaction,
   * each the Change CreateVm writes. Labels app, tier and shard (0..99: a selector on one matches 1%).
   */
  private void seed(Fresh fresh) {
    long t0 = System.nanoTime();
    Instant now = Instant.now();
    try (Store store = fresh.target.open()) {
      for (int b = 0; b < VMS; b += 1000) {
        List<Change> changes = new ArrayList<>();
        for (int i = b; i < Math.min(VMS, b + 1000); i++) {
          StoredVm vm = stoppedVm(new UUID(0x6d70716575L, i).toString(), seededSpec(i), now);
          changes.add(Change.builder().insert(vm).event(accepted(vm)).build());
        }
        for (Store.Result result : store.commitAll(changes)) {
          result.eventsOrThrow();
        }
      }
      assertThat(store.lastSeq()).isEqualTo(VMS);
    }
    REPORT.f("seeded %d VMs (3 labels each) and their ACCEPTED events through Store.commitAll, 1000 changes per"
        + " transaction (the Change CreateVm writes), in %.1f s (%.0f VMs/s)", VMS, (System.nanoTime() - t0) / 1e9,
        VMS / ((System.nanoTime() - t0) / 1e9));
  }

  static VmSpec seededSpec(int i) {
    return Bench.spec(String.format("vm-%06d", i)).toBuilder().putLabels("shard", String.valueOf(i % 100)).build();
  }

  private void list(Fresh fresh) throws Exception {
    // the store alone: what VmRecords.load does at start-up, and what the API pages through
    long l0 = System.nanoTime();
    int loaded = 0;
    try (Store store = fresh.target.open()) {
      String after = "";
      List<StoredVm> page;
      do {
        page = store.listVms(VmFilter.all(), after, 1000);
        loaded += page.size();
        after = page.isEmpty() ? after : page.get(page.size() - 1).id();
      } while (page.size() == 1000);
    }
    double storeMs = Bench.ms(l0, System.nanoTime());
    assertThat(loaded).isEqualTo(VMS);
    try (Connection db = fresh.connect()) {
      plans(fresh, db);
      List<Double> all = new ArrayList<>();
      List<Double> allBase = new ArrayList<>();
      List<Double> rawBase = new ArrayList<>();
      List<Double> label = new ArrayList<>();
      List<Double> labelBase = new ArrayList<>();
      double startMs;
      try (ControlPlane cp = new ControlPlane(fresh.data(), fresh.dir.resolve("cp.sock"), fresh.target);
          Clients cl = new Clients()) {
        startMs = cp.startMillis;
        for (int r = 1 - LIST_WARM_ROUNDS; r <= LIST_ROUNDS; r++) {
          boolean apiFirst = r % 2 == 0;
          double[] api = new double[2];
          double[] base = new double[3];
          for (int side = 0; side < 2; side++) {
            if ((side == 0) == apiFirst) {
              long a = System.nanoTime();
              assertThat(ControlPlaneApiBenchmark.pageAll(cl, cp.address())).isEqualTo(VMS);
              api[0] = Bench.ms(a, System.nanoTime());
              long p = System.nanoTime();
              ListVmsResponse page = cl.callSync(cp.address(), VmServiceGrpcClient.ListVms,
                  ListVmsRequest.newBuilder().setPageSize(1000).setLabelSelector(SELECTOR).build());
              api[1] = Bench.ms(p, System.nanoTime());
              assertThat(page.getVmsCount()).isEqualTo(VMS / 100);
              assertThat(page.getVmsList()).allMatch(vm -> vm.getSpec().getLabelsMap().get("shard").equals("7"));
            } else {
              long a = System.nanoTime();
              assertThat(jdbcList(db, fresh.engine.postgres, false, true)).isEqualTo(VMS);
              base[0] = Bench.ms(a, System.nanoTime());
              long q = System.nanoTime();
              assertThat(jdbcList(db, fresh.engine.postgres, true, true)).isEqualTo(VMS / 100);
              base[1] = Bench.ms(q, System.nanoTime());
              long raw = System.nanoTime();
              assertThat(jdbcList(db, fresh.engine.postgres, false, false)).isEqualTo(VMS);
              base[2] = Bench.ms(raw, System.nanoTime());
            }
          }
          REPORT.f("round %-5s gRPC all %8.0f ms, label page %7.1f ms | JDBC all %8.0f ms (%6.0f ms without parsing),"
              + " label page %7.1f ms", r <= 0 ? "warm" : "" + r, api[0], api[1], base[0], base[2], base[1]);
          if (r > 0) {
            all.add(api[0]);
            label.add(api[1]);
            allBase.add(base[0]);
            labelBase.add(base[1]);
            rawBase.add(base[2]);
          }
        }
      }
      String name = fresh.engine.name;
      REPORT.f("medians over %d rounds: gRPC all %d VMs (page_size 1000, %d calls) %.0f ms; JDBC one SELECT + parse"
          + " %.0f ms (ratio %.2f); JDBC SELECT without parsing %.0f ms", LIST_ROUNDS, VMS, VMS / 1000, median(all),
          median(allBase), median(all) / median(allBase), median(rawBase));
      REPORT.f("medians: gRPC one page with label_selector %s (%d VMs) %.1f ms; JDBC JOIN + parse %.1f ms (ratio %.2f)",
          SELECTOR, VMS / 100, median(label), median(labelBase), median(label) / median(labelBase));
      REPORT.f("the store alone, Store.listVms paged by 1000 (VmRecords.load's loop, no gRPC): %.0f ms; in-process"
          + " control plane start-up loading %d VMs: %.0f ms", storeMs, VMS, startMs);
      summary("ListVms all " + VMS + " VMs, " + VMS / 1000 + " pages (vs JDBC SELECT+parse)", name, ms(median(all)),
          ms(median(allBase)), median(all) / median(allBase), "< 2 s", median(all) < 2000);
      summary("ListVms " + SELECTOR + " page, 1% (vs JDBC JOIN+parse)", name, ms(median(label)), ms(median(labelBase)),
          median(label) / median(labelBase), "", null);
    }
  }

  /** The rows ListVms reads: all VMs in id order, or the label-selected ones; spec and status parsed when asked. */
  private static int jdbcList(Connection db, boolean postgres, boolean selected, boolean parse)
      throws SQLException, InvalidProtocolBufferException {
    String sql = selected
        ? "SELECT v.id, v.spec, v.status FROM vms v JOIN vm_labels l ON l.vm_id = v.id WHERE l.key = ? AND l.value = ?"
            + " ORDER BY v.id LIMIT 1001"
        : "SELECT id, spec, status FROM vms ORDER BY id";
    boolean auto = db.getAutoCommit();
    if (postgres) {
      db.setAutoCommit(false); // a cursor: rows come 1000 at a time
    }
    int n = 0;
    try (PreparedStatement q = db.prepareStatement(sql)) {
      q.setFetchSize(1000);
      if (selected) {
        String[] kv = SELECTOR.split("=");
        q.setString(1, kv[0]);
        q.setString(2, kv[1]);
      }
      try (ResultSet rows = q.executeQuery()) {
        while (rows.next()) {
          if (parse) {
            VmSpec.Builder spec = VmSpec.newBuilder();
            PARSER.merge(rows.getString(2), spec);
            VmStatus.Builder status = VmStatus.newBuilder();
            PARSER.merge(rows.getString(3), status);
            Vm vm = Vm.newBuilder().setId(rows.getString(1)).setSpec(spec).setStatus(status).build();
            if (vm.getId().isEmpty()) {
              throw new AssertionError();
            }
          } else if (rows.getString(2).isEmpty() || rows.getString(3).isEmpty()) {
            throw new AssertionError();
          }
          n++;
        }
      }
    } finally {
      if (postgres) {
        db.commit();
        db.setAutoCommit(auto);
      }
    }
    return n;
  }

  /** The engine's plan for the SQL VmRows.list builds (StoreSql's text) for a first page and for the label page. */
  private void plans(Fresh fresh, Connection db) throws SQLException {
    String cols = "SELECT id, spec, desired_state, revision, status, created_at, updated_at, owner FROM vms v WHERE v.id > ?";
    String byLabel = cols + " AND EXISTS (SELECT 1 FROM vm_labels l WHERE l.vm_id = v.id AND l.key = ? AND l.value = ?)"
        + " ORDER BY v.id LIMIT ?";
    String explain = fresh.engine.postgres ? "EXPLAIN (ANALYZE, BUFFERS) " : "EXPLAIN QUERY PLAN ";
    for (String[] q : List.of(new String[] {"page", cols + " ORDER BY v.id LIMIT ?"}, new String[] {"label", byLabel})) {
      try (PreparedStatement p = db.prepareStatement(explain + q[1])) {
        p.setString(1, "");
        int next = 2;
        if (q[0].equals("label")) {
          p.setString(next++, "shard");
          p.setString(next++, "7");
        }
        p.setInt(next, 1001);
        List<String> lines = new ArrayList<>();
        try (ResultSet rows = p.executeQuery()) {
          while (rows.next()) {
            lines.add(rows.getString(fresh.engine.postgres ? 1 : 4).strip());
          }
        }
        REPORT.f("plan of the %s query (%s): %s", q[0].equals("page") ? "first page" : "label_selector " + SELECTOR,
            explain.strip(), String.join(" | ", lines));
      }
    }
  }

  /**
   * The control plane in its own JVM on {@code fresh}: launch -> /readyz 200, heap after a full GC, then
   * RESTARTS times kill -9 -> start again -> /readyz 200. Returns [heap used bytes, first start ms, kill -9 to ready ms median].
   */
  private double[] childRuns(Fresh fresh, String what, String xmx) throws Exception {
    int port = Ports.free();
    List<String> args = new ArrayList<>(List.of("serve", "--data-dir", fresh.data().toString(), "--listen",
        "unix:" + fresh.dir.resolve("child.sock"), "--http-listen", "tcp:127.0.0.1:" + port, "--insecure-plaintext-tcp",
        "--reconcile-every", "3600"));
    if (fresh.db != null) {
      Path password = fresh.dir.resolve("store.pw");
      Files.writeString(password, fresh.db.password() + "\n");
      Files.setPosixFilePermissions(password, PosixFilePermissions.fromString("rw-------"));
      args.addAll(List.of("--store", fresh.db.url(), "--store-password-file", password.toString()));
    }
    ServiceJvm.Command command = ServiceJvm.command("control plane (" + what + ")", ServeMain.class.getName(),
        fresh.dir.resolve("child.log")).jvm("-Xmx" + xmx).args(args);
    URI readyz = URI.create("http://127.0.0.1:" + port + "/readyz");
    long t0 = System.nanoTime();
    CompletableFuture<Long> ready = pollReady(readyz);
    ServiceJvm jvm = command.start("control plane ready", START_WITHIN);
    double firstMs = Bench.ms(t0, ready.get(3, TimeUnit.MINUTES));
    try {
      int vms = what.startsWith("empty") ? 0 : VMS; // SQLite loads them at start, a PostgreSQL leader taking office
      assertThat(jvm.log()).containsAnyOf("loaded " + vms + " VM(s)", "(" + vms + " VM(s), event log at seq");
      long[] heap = heap(jvm.pid());
      REPORT.f("%-10s launch -> /readyz 200: %6.0f ms; after jcmd GC.run: heap used %s, committed %s; VmRSS %s", what,
          firstMs, mib(heap[0]), mib(heap[1]), mib(rss(jvm.pid())));
      if (!what.startsWith("empty")) {
        REPORT.line("  largest classes on the heap (jcmd GC.class_histogram):");
        for (String line : histogram(jvm.pid(), 12)) {
          REPORT.line("    " + line);
        }
      }
      double[] restarts = new double[RESTARTS];
      for (int i = 0; i < RESTARTS; i++) {
        long k = System.nanoTime();
        jvm.kill9();
        double goneMs = Bench.ms(k, System.nanoTime());
        ready = pollReady(readyz);
        jvm = command.start("control plane ready", START_WITHIN);
        restarts[i] = Bench.ms(k, ready.get(3, TimeUnit.MINUTES));
        REPORT.f("%-10s kill -9 #%d -> /readyz 200: %6.0f ms (the process gone after %.0f ms)", what, i + 1, restarts[i],
            goneMs);
      }
      return new double[] {heap[0], firstMs, Bench.quantile(restarts, 0.5)};
    } finally {
      jvm.close();
      killLeftChildren();
    }
  }

  /** Kills any control plane JVM this benchmark started that still runs (a start that failed leaves its process). */
  private static void killLeftChildren() {
    ProcessHandle.current().descendants()
        .filter(p -> p.info().commandLine().orElse("").contains(ServeMain.class.getName()))
        .forEach(ProcessHandle::destroyForcibly);
  }

  /** The time /readyz first answers 200, polled every 5 ms from now. */
  private static CompletableFuture<Long> pollReady(URI readyz) {
    HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofMillis(500)).build();
    HttpRequest request = HttpRequest.newBuilder(readyz).timeout(Duration.ofSeconds(2)).GET().build();
    return CompletableFuture.supplyAsync(() -> {
      long deadline = System.nanoTime() + START_WITHIN.toNanos();
      while (System.nanoTime() < deadline) {
        try {
          if (http.send(request, HttpResponse.BodyHandlers.discarding()).statusCode() == 200) {
            return System.nanoTime();
          }
        } catch (IOException e) {
          // not listening yet
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          throw new IllegalStateException(e);
        }
        try {
          Thread.sleep(5);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          throw new IllegalStateException(e);
        }
      }
      throw new IllegalStateException(readyz + " did not answer 200 within " + START_WITHIN);
    }, Executors.newSingleThreadExecutor(r -> {
      Thread t = new Thread(r, "readyz-poll");
      t.setDaemon(true);
      return t;
    }));
  }

  private static final Pattern HEAP = Pattern.compile("heap\\s+total (\\d+)K, used (\\d+)K");

  /** [used, committed] bytes after two full GCs. */
  private static long[] heap(long pid) throws Exception {
    jcmd(pid, "GC.run");
    jcmd(pid, "GC.run");
    String info = jcmd(pid, "GC.heap_info");
    Matcher m = HEAP.matcher(info);
    if (!m.find()) {
      throw new AssertionError("no heap figure in jcmd GC.heap_info:\n" + info);
    }
    return new long[] {Long.parseLong(m.group(2)) * 1024, Long.parseLong(m.group(1)) * 1024};
  }

  private static List<String> histogram(long pid, int top) throws Exception {
    return jcmd(pid, "GC.class_histogram").lines().filter(l -> l.matches("\\s*\\d+:.*")).limit(top)
        .map(String::strip).toList();
  }

  private static String jcmd(long pid, String command) throws Exception {
    Process p = new ProcessBuilder("jcmd", String.valueOf(pid), command).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
    if (!p.waitFor(60, TimeUnit.SECONDS) || p.exitValue() != 0) {
      throw new AssertionError("jcmd " + pid + " " + command + " failed:\n" + out);
    }
    return out;
  }

  private static long rss(long pid) throws IOException {
    return Files.readAllLines(Path.of("/proc/" + pid + "/status")).stream().filter(l -> l.startsWith("VmRSS:"))
        .map(l -> Long.parseLong(l.replaceAll("[^0-9]", "")) * 1024).findFirst().orElse(-1L);
  }

  // ================================================================ engines

  /** One store engine: makes fresh stores of its kind. */
  static final class Engine {
    final String name;
    final boolean postgres;

    Engine(String name, boolean postgres) {
      this.name = name;
      this.postgres = postgres;
    }

    /** An empty store: a new SQLite file in a new directory, or a new PostgreSQL database. */
    Fresh fresh(String tag) throws IOException, SQLException {
      Path dir = Files.createDirectories(root.resolve(name.toLowerCase() + "-" + tag));
      if (!postgres) {
        return new Fresh(this, dir, new StoreTarget.Sqlite(dir.resolve("data").resolve("control-plane.db")), null);
      }
      PostgresServer.Database db = StoreEnginesBenchmark.postgres.createDatabase("bench_" + tag);
      return new Fresh(this, dir, PostgresTarget.parse(db.url(), db.password()), db);
    }
  }

  /** A store made for one measurement, and what reaches it without the control plane. */
  record Fresh(Engine engine, Path dir, StoreTarget target, PostgresServer.Database db) {

    Path data() {
      return dir.resolve("data");
    }

    /** A JDBC connection for a baseline: SQLite in WAL with synchronous=FULL; PostgreSQL batching inserts. */
    Connection connect() throws SQLException {
      if (db == null) {
        Properties p = new Properties();
        p.setProperty("transaction_mode", "IMMEDIATE");
        Connection c = DriverManager.getConnection("jdbc:sqlite:" + data().resolve("control-plane.db"), p);
        try (Statement s = c.createStatement()) {
          s.execute("PRAGMA busy_timeout = 5000");
          s.execute("PRAGMA foreign_keys = ON");
          s.execute("PRAGMA journal_mode = WAL");
          s.execute("PRAGMA synchronous = FULL");
          assertThat(one(s, "PRAGMA synchronous")).isEqualTo("2");
        }
        return c;
      }
      Properties p = new Properties();
      p.setProperty("user", db.user());
      p.setProperty("password", db.password());
      p.setProperty("reWriteBatchedInserts", "true");
      Connection c = DriverManager.getConnection(db.jdbcUrl(), p);
      try (Statement s = c.createStatement()) {
        assertThat(one(s, "SHOW synchronous_commit")).isEqualTo("on");
      }
      return c;
    }

    /**
     * PostgreSQL's transaction id counter, which only writing transactions advance (and savepoints that
     * write, which the baseline has none of). Reading it takes an id too. 0 on SQLite.
     */
    long xid() throws SQLException {
      if (db == null) {
        return 0;
      }
      try (Connection admin = postgres.superuser("postgres"); Statement s = admin.createStatement()) {
        return Long.parseLong(one(s, "SELECT txid_current()"));
      }
    }

    /** The baseline's changes per transaction between two {@link #xid} readings; NaN on SQLite. */
    double meanGroup(long xidBefore, long xidAfter, int changes) {
      if (db == null) {
        return Double.NaN;
      }
      return changes / (double) (xidAfter - xidBefore - 1);
    }

    void drop() throws IOException, SQLException {
      if (db != null) {
        try (Connection admin = postgres.superuser("postgres"); Statement s = admin.createStatement()) {
          s.execute("DROP DATABASE " + db.name() + " WITH (FORCE)");
          s.execute("DROP ROLE " + db.user());
        }
      }
      Bench.deleteTree(dir);
    }
  }

  /**
   * The baseline's writer, as a careful engineer would write it with JDBC: one thread takes everything
   * queued, and writes it in one transaction with one batch per table; the seq counter is read under the
   * writer lock (and, on PostgreSQL, written back to event_counter as the store does), so seqs are gap-free.
   */
  static final class GroupCommitWriter implements AutoCloseable {

    record Create(String id, VmSpec spec, String specJson, Instant now, CompletableFuture<Void> done) {}

    private final Connection c;
    private final boolean postgres;
    private final LinkedBlockingQueue<Create> queue = new LinkedBlockingQueue<>();
    private final Thread thread = new Thread(this::run, "baseline-writer");
    private volatile boolean stop;
    private volatile Exception died;
    volatile long transactions;

    GroupCommitWriter(Connection c, boolean postgres) throws SQLException {
      this.c = c;
      this.postgres = postgres;
      c.setAutoCommit(false);
      thread.start();
    }

    /** Prints the spec on a client thread, then queues the create; completes once it is durable. */
    CompletableFuture<Void> prepareAndSubmit(String name, ExecutorService clients) {
      return CompletableFuture.supplyAsync(() -> {
        VmSpec spec = Bench.spec(name);
        try {
          return new Create(UUID.randomUUID().toString(), spec, PRINTER.print(spec), Instant.now(),
              new CompletableFuture<>());
        } catch (InvalidProtocolBufferException e) {
          throw new IllegalStateException(e);
        }
      }, clients).thenCompose(create -> {
        queue.add(create);
        if (died != null) {
          create.done.completeExceptionally(died);
        }
        return create.done;
      });
    }

    private void run() {
      try (PreparedStatement vm = c.prepareStatement("INSERT INTO vms(id, name, spec, desired_state, revision, status,"
              + " phase, node, created_at, updated_at, owner) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
          PreparedStatement label = c.prepareStatement("INSERT INTO vm_labels(vm_id, key, value) VALUES (?, ?, ?)");
          PreparedStatement event = c.prepareStatement("INSERT INTO events(seq, vm_id, json) VALUES (?, ?, ?)");
          PreparedStatement lastSeq = c.prepareStatement(postgres
              ? "SELECT last_seq FROM event_counter WHERE id = 1 FOR UPDATE" : "SELECT COALESCE(MAX(seq), 0) FROM events");
          PreparedStatement storeSeq = c.prepareStatement(postgres
              ? "UPDATE event_counter SET last_seq = ? WHERE id = 1" : "SELECT ?")) {
        List<Create> group = new ArrayList<>();
        while (true) {
          Create first = queue.poll(50, TimeUnit.MILLISECONDS);
          if (first == null) {
            if (stop) {
              return;
            }
            continue;
          }
          group.add(first);
          queue.drainTo(group);
          try {
            long seq;
            try (ResultSet rows = lastSeq.executeQuery()) {
              rows.next();
              seq = rows.getLong(1);
            }
            for (Create x : group) {
              long s = ++seq;
              String now = x.now.toString();
              vm.setString(1, x.id);
              vm.setString(2, x.spec.getName());
              vm.setString(3, x.specJson);
              vm.setString(4, DesiredState.STOPPED.name());
              vm.setLong(5, 1);
              vm.setString(6, PRINTER.print(STOPPED.toBuilder().setLastEventSeq(s).build()));
              vm.setString(7, Phase.PHASE_STOPPED.name());
              vm.setString(8, "");
              vm.setString(9, now);
              vm.setString(10, now);
              vm.setString(11, "unix:root");
              vm.addBatch();
              for (Map.Entry<String, String> l : x.spec.getLabelsMap().entrySet()) {
                label.setString(1, x.id);
                label.setString(2, l.getKey());
                label.setString(3, l.getValue());
                label.addBatch();
              }
              event.setLong(1, s);
              event.setString(2, x.id);
              event.setString(3, PRINTER.print(VmEvent.newBuilder().setSeq(s).setVmId(x.id).setVmName(x.spec.getName())
                  .setType(EventType.ACCEPTED).setPhase(Phase.PHASE_STOPPED).setReason("Accepted")
                  .setMessage("intent stored, desired state STOPPED").setTime(ControlPlaneApiBenchmark.timestamp(x.now))
                  .build()));
              event.addBatch();
            }
            vm.executeBatch();
            label.executeBatch();
            event.executeBatch();
            if (postgres) {
              storeSeq.setLong(1, seq);
              storeSeq.executeUpdate();
            }
            c.commit();
            transactions++;
            group.forEach(x -> x.done.complete(null));
          } catch (SQLException | InvalidProtocolBufferException e) {
            try {
              c.rollback();
            } catch (SQLException ignored) {
              e.addSuppressed(ignored);
            }
            group.forEach(x -> x.done.completeExceptionally(e));
          }
          group.clear();
        }
      } catch (SQLException | InterruptedException | RuntimeException e) {
        died = e;
        queue.forEach(x -> x.done.completeExceptionally(e));
      }
    }

    @Override
    public void close() throws InterruptedException {
      stop = true;
      thread.join(TimeUnit.MINUTES.toMillis(1));
    }
  }

  // ================================================================ helpers

  static StoredVm stoppedVm(String id, VmSpec spec, Instant now) {
    return new StoredVm(id, spec, DesiredState.STOPPED, 1, STOPPED, now, now, "unix:root");
  }

  /** The event CreateVm records (VmRecords.event). */
  static VmEvent accepted(StoredVm vm) {
    return VmEvent.newBuilder().setVmId(vm.id()).setVmName(vm.name()).setType(EventType.ACCEPTED)
        .setPhase(Phase.PHASE_STOPPED).setReason("Accepted").setMessage("intent stored, desired state STOPPED")
        .setTime(ControlPlaneApiBenchmark.timestamp(vm.createdAt())).build();
  }

  private static void summary(String figure, String engine, String value, String baseline, double ratio, String target,
      Boolean met) {
    SUMMARY.add(new String[] {figure, engine, value, baseline, String.format(java.util.Locale.ROOT, "%.2f", ratio),
        target, met == null ? "" : met ? "met" : "MISSED"});
  }

  private static String one(Statement s, String sql) throws SQLException {
    try (ResultSet rows = s.executeQuery(sql)) {
      rows.next();
      return rows.getString(1);
    }
  }

  private static long count(Connection c, String sql) throws SQLException {
    try (Statement s = c.createStatement(); ResultSet rows = s.executeQuery(sql)) {
      rows.next();
      return rows.getLong(1);
    }
  }

  private static double median(List<Double> values) {
    return Bench.quantile(values.stream().mapToDouble(Double::doubleValue).toArray(), 0.5);
  }

  private static String mib(double bytes) {
    return String.format(java.util.Locale.ROOT, "%.1f MiB", bytes / (1024.0 * 1024));
  }

  private static String ms(double millis) {
    return String.format(java.util.Locale.ROOT, "%.0f ms", millis);
  }
}
