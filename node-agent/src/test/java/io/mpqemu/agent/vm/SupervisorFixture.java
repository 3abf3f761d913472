package io.mpqemu.agent.vm;

import static org.assertj.core.api.Assertions.assertThat;

import io.mpqemu.agent.AgentConfig;
import io.mpqemu.agent.confine.Confinement;
import io.mpqemu.agent.confine.ConfinementSettings;
import io.mpqemu.agent.events.EventHub;
import io.mpqemu.agent.images.OpenImages;
import io.mpqemu.agent.process.ProcessScanner;
import io.mpqemu.agent.qemu.QemuCommandLine;
import io.mpqemu.agent.state.VmStateStore;
import io.mpqemu.agent.unix.SocketPairs;
import io.mpqemu.spec.NodeLimits;
import io.mpqemu.v1.EventType;
import io.mpqemu.v1.ProxiedDevice;
import io.mpqemu.v1.VmEvent;
import io.mpqemu.v1.VmSpec;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Supplier;
import java.util.stream.Stream;

/**
 * A VM supervisor's world made of fakes: processes ({@link FakeProcesses}), QMP ({@link FakeQmp}),
 * time ({@link FakeTimers}); real are the state directory (in a temporary directory), socketpairs
 * and the event hub, whose events it records. Everything the supervisor does runs on one event loop
 * context, as in the agent; the test waits for outcomes, never sleeps.
 */
final class SupervisorFixture implements AutoCloseable {

  static final Duration STOP_TIMEOUT = Duration.ofSeconds(30);
  static final Duration EXIT_DEADLINE = Duration.ofSeconds(5);
  private static final Duration WAIT = Duration.ofSeconds(10);

  final Path root;
  final FakeTimers timers = new FakeTimers();
  final FakeProcesses processes = new FakeProcesses();
  final FakeQmp qmp = new FakeQmp();
  final VmStateStore store;
  final List<VmEvent> events = new CopyOnWriteArrayList<>();
  final VmRuntime rt;
  private final BlockingQueue<VmEvent> unseen = new LinkedBlockingQueue<>();
  private final AtomicInteger qmpConnects = new AtomicInteger();
  private final Vertx vertx = Vertx.vertx();
  private final Context context = vertx.getOrCreateContext();
  private volatile int failingPair = -1;
  private volatile String qmpUnreachable;
  private volatile Promise<Void> qmpGreeting;

  SupervisorFixture() throws IOException {
    root = Files.createTempDirectory(Path.of("/tmp"), "mpqemu-vm-unit-");
    store = new VmStateStore(root.resolve("state"));
    store.init();
    AgentConfig config = new AgentConfig("test-node", List.of("unix:" + root.resolve("agent.sock")), store.stateRoot(),
        root, Path.of("qemu-system-x86_64"), "tcg", NodeLimits.defaults(), 4096, 32, Map.of(), STOP_TIMEOUT,
        EXIT_DEADLINE, 1024 * 1024);
    EventHub hub = new EventHub(vertx);
    AtomicInteger pairs = new AtomicInteger();
    rt = new VmRuntime(vertx, context, config, new QemuCommandLine(config.qemuBinary()), QemuCommandLine.Accelerator.TCG,
        processes, new ProcessScanner(), store, hub, this::connectQmp, () -> {
          if (pairs.incrementAndGet() == failingPair) {
            throw new IOException("socketpair: too many open files");
          }
          return SocketPairs.open();
        }, timers.clock(), timers, Confinement.off(ConfinementSettings.DEFAULT));
    onLoop(() -> hub.watch(false, e -> {
      events.add(e);
      unseen.add(e);
    }));
  }

  /** One lsi53c895a device process and the main QEMU. */
  static VmSpec oneDevice(String name) {
    return VmSpec.newBuilder().setName(name).setMemoryMib(64)
        .addDevices(ProxiedDevice.newBuilder().setId("lsi0").setDriver("lsi53c895a")).build();
  }

  /** The {@code n}th socketpair (from 1) cannot be opened. */
  void failPair(int n) {
    failingPair = n;
  }

  /** Connecting to QMP fails with {@code why}. */
  void qmpUnreachable(String why) {
    qmpUnreachable = why;
  }

  /** QMP connects, but its greeting waits until the returned promise completes (a QEMU still starting). */
  Promise<Void> holdQmpGreeting() {
    Promise<Void> greeting = Promise.promise();
    qmpGreeting = greeting;
    return greeting;
  }

  int qmpConnects() {
    return qmpConnects.get();
  }

  private Future<io.mpqemu.agent.qemu.Qmp> connectQmp(String name, Path socket) {
    qmpConnects.incrementAndGet();
    if (qmpUnreachable != null) {
      return Future.failedFuture(new IOException(qmpUnreachable));
    }
    try {
      if (!Files.exists(socket)) {
        Files.createFile(socket); // an adopted VM's socket, made by the launch of a previous agent
      }
    } catch (IOException e) {
      return Future.failedFuture(e);
    }
    Promise<Void> greeting = qmpGreeting;
    return greeting == null ? Future.succeededFuture(qmp) : greeting.future().map(v -> qmp);
  }

  VmSupervisor supervisor(String vmId, VmSpec spec) {
    return onLoop(() -> new VmSupervisor(rt, vmId, spec, 1));
  }

  /** Launches {@code spec} as {@code vmId} and waits until it runs. */
  VmSupervisor running(String vmId, VmSpec spec) {
    VmSupervisor sup = supervisor(vmId, spec);
    await(() -> sup.launch(spec, 1, OpenImages.none()));
    return sup;
  }

  /** Runs {@code action} on the event loop and waits for it. */
  <T> T onLoop(Supplier<T> action) {
    CompletableFuture<T> done = new CompletableFuture<>();
    context.runOnContext(v -> {
      try {
        done.complete(action.get());
      } catch (Throwable e) {
        done.completeExceptionally(e);
      }
    });
    return join(done);
  }

  void onLoop(Runnable action) {
    onLoop(() -> {
      action.run();
      return null;
    });
  }

  /** Starts {@code call} on the event loop; the returned future completes with its outcome. */
  <T> CompletableFuture<T> start(Supplier<Future<T>> call) {
    return onLoop(() -> call.get().toCompletionStage().toCompletableFuture());
  }

  /** Starts {@code call} on the event loop and waits for its result. */
  <T> T await(Supplier<Future<T>> call) {
    return join(start(call));
  }

  /** Starts {@code call} and waits for its failure. */
  Throwable awaitFailure(Supplier<Future<?>> call) {
    CompletableFuture<?> f = onLoop(() -> call.get().toCompletionStage().toCompletableFuture());
    try {
      f.get(WAIT.toMillis(), TimeUnit.MILLISECONDS);
    } catch (ExecutionException e) {
      return e.getCause();
    } catch (Exception e) {
      throw new AssertionError("no outcome within " + WAIT, e);
    }
    throw new AssertionError("expected a failure, got success");
  }

  static <T> T join(CompletableFuture<T> f) {
    try {
      return f.get(WAIT.toMillis(), TimeUnit.MILLISECONDS);
    } catch (ExecutionException e) {
      if (e.getCause() instanceof RuntimeException r) {
        throw r;
      }
      throw new AssertionError(e.getCause());
    } catch (Exception e) {
      throw new AssertionError("no outcome within " + WAIT, e);
    }
  }

  /** Moves time on, on the event loop. */
  void advance(Duration by) {
    onLoop(() -> timers.advance(by));
  }

  /** The next event of {@code type} not awaited yet; the ones before it are passed over. */
  VmEvent awaitEvent(EventType type) {
    try {
      long until = System.nanoTime() + WAIT.toNanos();
      while (true) {
        VmEvent e = unseen.poll(Math.max(1, until - System.nanoTime()), TimeUnit.NANOSECONDS);
        assertThat(e).as("a " + type + " event within " + WAIT + "; events: " + types()).isNotNull();
        if (e.getType() == type) {
          return e;
        }
      }
    } catch (InterruptedException e) {
      throw new AssertionError(e);
    }
  }

  List<EventType> types() {
    return events.stream().map(VmEvent::getType).toList();
  }

  /** The events from the first of {@code type} on. */
  List<EventType> typesFrom(EventType type) {
    return types().stream().dropWhile(t -> t != type).toList();
  }

  /** The timers pending now, read on the event loop. */
  List<Duration> pendingTimers() {
    return onLoop(timers::pendingDelays);
  }

  Path vmDir(String vmId) {
    return store.paths(vmId).dir();
  }

  @Override
  public void close() throws Exception {
    vertx.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    try (Stream<Path> walk = Files.walk(root)) {
      walk.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
    }
  }
}
