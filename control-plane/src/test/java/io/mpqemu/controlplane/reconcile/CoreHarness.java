package io.mpqemu.controlplane.reconcile;

import io.mpqemu.controlplane.ControlPlaneConfig;
import io.mpqemu.controlplane.ControlPlaneCore;
import io.mpqemu.controlplane.events.EventLog;
import io.mpqemu.controlplane.leadership.Leadership;
import io.mpqemu.controlplane.nodes.NodeRegistry;
import io.mpqemu.controlplane.store.Change;
import io.mpqemu.controlplane.store.SqliteStore;
import io.mpqemu.controlplane.store.StoreExecutor;
import io.mpqemu.controlplane.store.SwitchableStore;
import io.mpqemu.controlplane.store.StoredVm;
import io.mpqemu.spec.NodeLimits;
import io.mpqemu.testing.Await;
import io.mpqemu.v1.Capacity;
import io.mpqemu.v1.Disk;
import io.mpqemu.v1.NodeHeartbeat;
import io.mpqemu.v1.NodeInfo;
import io.mpqemu.v1.ProxiedDevice;
import io.mpqemu.v1.RestartPolicy;
import io.mpqemu.v1.VmEvent;
import io.mpqemu.v1.VmSpec;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.function.Function;
import java.util.function.Supplier;

/**
 * The control plane's core wired as the verticle wires it, on a real SQLite store in {@code dir}, with
 * nodes that do what they are told ({@link #agents}) and time moved by the test ({@link #timers}).
 * Everything runs on one event loop, as in the control plane; {@link #on} runs a step there and waits.
 */
public final class CoreHarness implements AutoCloseable {

  private static final Duration WAIT = Duration.ofSeconds(20);

  public final FakeTimers timers = new FakeTimers();
  public final RecordingAgents agents = new RecordingAgents();
  private final Vertx vertx = Vertx.vertx();
  private final Context loop = vertx.getOrCreateContext();
  private SwitchableStore switchable;
  private StoreExecutor store;
  private ControlPlaneCore core;

  public CoreHarness(Path dir) {
    this(dir, null, null);
  }

  /**
   * With the agents {@code agentsOn} makes on this harness's Vert.x (real gRPC clients, say) and a
   * clock of the test's, instead of {@link #agents} and {@link #timers} (whose timers still run the
   * back-offs); null for the defaults.
   */
  public CoreHarness(Path dir, Function<Vertx, Agents> agentsOn, Clock clock) {
    Agents using = agentsOn == null ? agents : agentsOn.apply(vertx);
    Clock time = clock == null ? timers : clock;
    ControlPlaneConfig config = new ControlPlaneConfig(dir, List.of("unix:" + dir.resolve("cp.sock")), Duration.ofSeconds(2),
        Duration.ofSeconds(5), Duration.ofHours(1), Duration.ofSeconds(60), Duration.ofSeconds(60), NodeLimits.defaults());
    on(() -> {
      switchable = new SwitchableStore(SqliteStore.open(config.database()));
      store = new StoreExecutor(vertx, switchable);
      core = ControlPlaneCore.wire(config, store, new EventLog(store, 0),
          new NodeRegistry(config.notReadyAfter(), config.lostAfter()), using, time, timers, Leadership.SOLE);
      return core.records().load();
    });
  }

  public Vertx vertx() {
    return vertx;
  }

  public ControlPlaneCore core() {
    return core;
  }

  public StoreExecutor store() {
    return store;
  }

  /** Takes the store down (commits and reads fail UNAVAILABLE, nothing applied) or brings it back. */
  public void storeDown(boolean down) {
    switchable.down(down);
  }

  /** The VM as the store has it (what GetVm answers). */
  public StoredVm stored(String id) {
    return on(() -> store.read(st -> st.vm(id).orElseThrow()));
  }

  /** A heartbeat from {@code node} with room for {@code memoryMib}: it is READY, and reconciled at once. */
  public void ready(String node, int memoryMib) {
    run(() -> core.liveness().onHeartbeat(NodeHeartbeat.newBuilder().setNodeId(node).setEndpoint("unix:/nowhere/" + node)
        .setInfo(NodeInfo.newBuilder().setNodeId(node).setMultiprocessSupported(true).addAllowedDrivers("lsi53c895a")
            .setCapacity(Capacity.newBuilder().setMemoryMib(memoryMib).setMaxVms(16).setMaxMemoryMibPerVm(memoryMib)
                .setMaxDevicesPerVm(4).setMaxDisksPerDevice(4).setMaxVcpusPerVm(8)))
        .build()));
  }

  /** Runs {@code step} on the event loop, then waits for the commits it asked for. */
  public void run(Runnable step) {
    on(() -> {
      step.run();
      return Future.succeededFuture();
    });
    settle();
  }

  /** Moves time on, running the timers that fall due. */
  public void advance(Duration by) {
    run(() -> timers.advance(by));
  }

  /** Waits until every commit asked for so far is durable (an empty change queues behind them). */
  public void settle() {
    on(() -> store.commit(Change.builder().build()));
  }

  /** The VM as the control plane writes it. */
  public StoredVm vm(String name) {
    return on(() -> Future.succeededFuture(core.records().byName(name).orElseThrow()));
  }

  public List<VmEvent> events() {
    return on(() -> store.read(st -> st.events(0, "", 100_000)));
  }

  public static VmSpec spec(String name, RestartPolicy policy) {
    return VmSpec.newBuilder().setName(name).setMemoryMib(64).setRestartPolicy(policy)
        .addDevices(ProxiedDevice.newBuilder().setId("lsi0").setDriver("lsi53c895a")
            .addDisks(Disk.newBuilder().setId("boot").setImage(name + ".img")))
        .build();
  }

  /** Runs {@code work} on the control plane's event loop and waits for the future it returns. */
  public <T> T on(Supplier<Future<T>> work) {
    Promise<T> result = Promise.promise();
    loop.runOnContext(v -> {
      try {
        work.get().onComplete(result);
      } catch (RuntimeException e) {
        result.fail(e);
      }
    });
    return Await.result(result.future(), WAIT);
  }

  /** What {@code work} failed with, waiting for it on the event loop. */
  public Throwable failure(Supplier<Future<?>> work) {
    Promise<Throwable> result = Promise.promise();
    loop.runOnContext(v -> work.get().onComplete(ar -> result.complete(ar.failed() ? ar.cause() : null)));
    Throwable failure = Await.result(result.future(), WAIT);
    if (failure == null) {
      throw new AssertionError("expected a failure, got success");
    }
    return failure;
  }

  @Override
  public void close() {
    Await.result(vertx.close(), WAIT);
    if (store != null) {
      store.close();
    }
  }
}
