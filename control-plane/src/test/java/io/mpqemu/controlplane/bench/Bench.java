package io.mpqemu.controlplane.bench;

import io.mpqemu.controlplane.ControlPlaneConfig;
import io.mpqemu.controlplane.ControlPlaneVerticle;
import io.mpqemu.controlplane.store.StoreTarget;
import io.mpqemu.grpc.UnaryCalls;
import io.mpqemu.spec.NodeLimits;
import io.mpqemu.testing.Await;
import io.mpqemu.v1.Disk;
import io.mpqemu.v1.ProxiedDevice;
import io.mpqemu.v1.RestartPolicy;
import io.mpqemu.v1.VmEvent;
import io.mpqemu.v1.VmServiceGrpcClient;
import io.mpqemu.v1.VmSpec;
import io.mpqemu.v1.WatchEventsRequest;
import io.vertx.core.Future;
import io.vertx.core.Handler;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import io.vertx.core.net.SocketAddress;
import io.vertx.grpc.client.GrpcClient;
import io.vertx.grpc.client.GrpcClientOptions;
import io.vertx.grpc.client.GrpcClientRequest;
import io.vertx.grpc.common.ServiceMethod;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.IntFunction;
import java.util.stream.Stream;

/** Plumbing shared by the control plane benchmarks: a control plane in its own Vert.x, clients, stats, the report. */
public final class Bench {

  public static final Duration DEADLINE = Duration.ofSeconds(120);
  /** How long a test waits for a call that has {@link #DEADLINE}: a little longer, so the call reports first. */
  public static final Duration WAIT = DEADLINE.plusSeconds(5);
  public static final String DIR = System.getProperty("bench.dir", "/tmp");

  private Bench() {}

  /**
   * A control plane deployed in a Vert.x of its own, gRPC on a UNIX socket, no HTTP; reconciliation
   * every hour (so the periodic pass never runs during a measurement).
   */
  public static final class ControlPlane implements AutoCloseable {
    final Vertx vertx;
    final ControlPlaneVerticle verticle;
    final Path socket;
    final double startMillis;

    public ControlPlane(Path dataDir, Path socket) {
      this(dataDir, socket, null);
    }

    /** On {@code store} (null: SQLite in the data directory). */
    public ControlPlane(Path dataDir, Path socket, StoreTarget store) {
      this(Vertx.builder().with(new VertxOptions().setPreferNativeTransport(true)).build(), dataDir, socket, store);
    }

    public ControlPlane(Vertx vertx, Path dataDir, Path socket) {
      this(vertx, dataDir, socket, null);
    }

    public ControlPlane(Vertx vertx, Path dataDir, Path socket, StoreTarget store) {
      this.vertx = vertx;
      this.socket = socket;
      ControlPlaneConfig config = new ControlPlaneConfig(dataDir, List.of("unix:" + socket), Duration.ofSeconds(10),
          Duration.ofSeconds(30), Duration.ofHours(1), Duration.ofSeconds(60), Duration.ofSeconds(60),
          NodeLimits.defaults());
      if (store != null) {
        config = config.withStore(store);
      }
      verticle = new ControlPlaneVerticle(config);
      long t0 = System.nanoTime();
      Await.result(vertx.deployVerticle(verticle), WAIT);
      startMillis = ms(t0, System.nanoTime());
    }

    public SocketAddress address() {
      return SocketAddress.domainSocketAddress(socket.toString());
    }

    /** The store's executor: its transactions and the writes they carried (group commit). */
    public io.mpqemu.controlplane.store.StoreExecutor store() {
      return verticle.storeExecutor();
    }

    @Override
    public void close() {
      Await.result(vertx.close(), WAIT);
    }
  }

  /** gRPC clients in a Vert.x of their own (the caller's side). */
  public static final class Clients implements AutoCloseable {
    public final Vertx vertx = Vertx.builder().with(new VertxOptions().setPreferNativeTransport(true)).build();
    public final GrpcClient grpc = newClient();

    public GrpcClient newClient() {
      return GrpcClient.client(vertx, new GrpcClientOptions().setScheduleDeadlineAutomatically(true));
    }

    public <Req, Resp> Future<Resp> call(SocketAddress to, ServiceMethod<Resp, Req> method, Req request) {
      return UnaryCalls.call(grpc, to, method, request, DEADLINE);
    }

    public <Req, Resp> Resp callSync(SocketAddress to, ServiceMethod<Resp, Req> method, Req request) {
      return Await.result(call(to, method, request), WAIT);
    }

    /** Opens WatchEvents from {@code fromSeq}; every event goes to {@code onEvent} (on a client event loop). */
    public static GrpcClientRequest<WatchEventsRequest, VmEvent> watch(GrpcClient client, SocketAddress to, long fromSeq,
        Handler<VmEvent> onEvent) {
      return Await.result(client.request(to, VmServiceGrpcClient.WatchEvents).compose(req -> {
        req.end(WatchEventsRequest.newBuilder().setFromSeq(fromSeq).build());
        return req.response().map(resp -> {
          resp.handler(onEvent);
          return req;
        });
      }), WAIT);
    }

    @Override
    public void close() {
      Await.result(vertx.close(), WAIT);
    }
  }

  /** A spec of the shape the store tests use: q35, 256 MiB, 2 vCPUs, one lsi53c895a with a disk, two labels. */
  public static VmSpec spec(String name) {
    return VmSpec.newBuilder().setName(name).setMemoryMib(256).setVcpus(2).setMachine("q35")
        .addDevices(ProxiedDevice.newBuilder().setId("scsi0").setDriver("lsi53c895a")
            .addDisks(Disk.newBuilder().setId("boot").setImage("images/boot.raw").setFormat("raw").setScsiId(0)))
        .putLabels("app", "bench").putLabels("tier", name.endsWith("0") ? "db" : "web")
        .putNodeSelector("zone", "a").setRestartPolicy(RestartPolicy.ON_FAILURE).build();
  }

  /**
   * A closed loop: {@code n} calls, {@code inFlight} at any time, each next call issued when one completes;
   * fails on the first failed call. {@code latencies} (or null) gets each call's time in ms.
   */
  public static void closedLoop(int n, int inFlight, double[] latencies, IntFunction<? extends CompletionStage<?>> call)
      throws Exception {
    AtomicInteger next = new AtomicInteger();
    AtomicInteger active = new AtomicInteger(inFlight);
    CompletableFuture<Void> done = new CompletableFuture<>();
    Runnable[] loop = new Runnable[1];
    loop[0] = () -> {
      int i = next.getAndIncrement();
      if (i >= n) {
        if (active.decrementAndGet() == 0) {
          done.complete(null);
        }
        return;
      }
      long t = System.nanoTime();
      CompletionStage<?> stage;
      try {
        stage = call.apply(i);
      } catch (RuntimeException e) {
        done.completeExceptionally(e);
        return;
      }
      stage.whenComplete((result, failure) -> {
        if (latencies != null) {
          latencies[i] = ms(t, System.nanoTime());
        }
        if (failure != null) {
          done.completeExceptionally(failure);
          return;
        }
        loop[0].run();
      });
    };
    for (int c = 0; c < inFlight; c++) {
      loop[0].run();
    }
    done.get(10, TimeUnit.MINUTES);
  }

  // ---------------------------------------------------------------- stats

  /** The median as the mean of the middle two for an even count; other quantiles by nearest rank. */
  public static double quantile(double[] values, double q) {
    double[] sorted = values.clone();
    Arrays.sort(sorted);
    int n = sorted.length;
    if (n == 0) {
      return Double.NaN;
    }
    if (q == 0.5) {
      return n % 2 == 1 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
    }
    int rank = (int) Math.ceil(q * n);
    return sorted[Math.max(0, Math.min(n - 1, rank - 1))];
  }

  public static double min(double[] v) {
    return Arrays.stream(v).min().orElse(Double.NaN);
  }

  public static double max(double[] v) {
    return Arrays.stream(v).max().orElse(Double.NaN);
  }

  public static double ms(long from, long to) {
    return (to - from) / 1e6;
  }

  // ---------------------------------------------------------------- report

  /** Lines printed and kept for target/{@code name}. */
  public static final class Report {
    private final PrintStream out = System.out;
    private final StringBuilder text = new StringBuilder();

    public void line(String s) {
      out.println(s);
      out.flush();
      text.append(s).append('\n');
    }

    public void f(String format, Object... args) {
      line(String.format(Locale.ROOT, format, args));
    }

    public void save(String name) throws IOException {
      Path saved = Path.of("target", name);
      Files.createDirectories(saved.getParent());
      Files.writeString(saved, text.toString());
      out.println("(this report is also in " + saved.toAbsolutePath() + ")");
    }
  }

  private static final java.net.http.HttpClient HTTP = java.net.http.HttpClient.newHttpClient();

  /** The detail of check {@code name} in {@code readyz}'s answer now ("" when it does not answer or has none). */
  public static String readyCheck(java.net.URI readyz, String name) {
    try {
      java.net.http.HttpResponse<String> answer = HTTP.send(java.net.http.HttpRequest.newBuilder(readyz)
          .timeout(Duration.ofSeconds(2)).build(), java.net.http.HttpResponse.BodyHandlers.ofString());
      io.vertx.core.json.JsonArray checks = new io.vertx.core.json.JsonObject(answer.body()).getJsonArray("checks");
      for (int i = 0; i < checks.size(); i++) {
        if (checks.getJsonObject(i).getString("name").equals(name)) {
          return checks.getJsonObject(i).getString("detail");
        }
      }
    } catch (IOException | RuntimeException e) {
      return "";
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    return "";
  }

  public static String host() {
    String model = "?";
    try (Stream<String> lines = Files.lines(Path.of("/proc/cpuinfo"))) {
      model = lines.filter(l -> l.startsWith("model name")).findFirst()
          .map(l -> l.replaceFirst("model name\\s*:\\s*", "")).orElse("?");
    } catch (IOException e) {
      // keep "?"
    }
    return Runtime.getRuntime().availableProcessors() + " CPUs, " + model + "; java " + System.getProperty("java.version")
        + "; load average " + loadAverage();
  }

  public static String loadAverage() {
    try {
      String[] parts = Files.readString(Path.of("/proc/loadavg")).split(" ");
      return parts[0] + " " + parts[1] + " " + parts[2];
    } catch (IOException e) {
      return "?";
    }
  }

  // ---------------------------------------------------------------- plumbing

  public static void deleteTree(Path root) throws IOException {
    if (!Files.exists(root)) {
      return;
    }
    try (Stream<Path> walk = Files.walk(root)) {
      for (Path p : walk.sorted(Comparator.reverseOrder()).toList()) {
        Files.deleteIfExists(p);
      }
    }
  }
}
