package io.mpqemu.controlplane;

import static org.assertj.core.api.Assertions.assertThat;

import io.mpqemu.controlplane.store.PostgresTarget;
import io.mpqemu.grpc.GrpcCallException;
import io.mpqemu.grpc.UnaryCalls;
import io.mpqemu.testing.Await;
import io.mpqemu.testing.PostgresServer;
import io.mpqemu.v1.CreateVmRequest;
import io.mpqemu.v1.DesiredState;
import io.mpqemu.v1.Disk;
import io.mpqemu.v1.EventType;
import io.mpqemu.v1.ListVmsRequest;
import io.mpqemu.v1.ListVmsResponse;
import io.mpqemu.v1.ProxiedDevice;
import io.mpqemu.v1.Vm;
import io.mpqemu.v1.VmEvent;
import io.mpqemu.v1.VmServiceGrpcClient;
import io.mpqemu.v1.VmSpec;
import io.mpqemu.v1.WatchEventsRequest;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import io.vertx.core.net.SocketAddress;
import io.vertx.grpc.client.GrpcClient;
import io.vertx.grpc.common.GrpcStatus;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.HashMap;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * PostgreSQL stopped and started again under a load of CreateVm: while it is down callers get UNAVAILABLE
 * naming the store; when it is back the control plane serves again without a restart; and every VM whose
 * create was acknowledged is there, with its ACCEPTED event, in a gap-free log.
 */
class PostgresRestartUnderLoadTest {

  private static final Duration DEADLINE = Duration.ofSeconds(30);
  private static final int CLIENTS = 8;

  @TempDir
  Path dir;

  private PostgresServer server;
  private PostgresServer.Database database;
  private Vertx vertx;
  private GrpcClient grpc;
  private SocketAddress api;

  @BeforeEach
  void start() throws Exception {
    server = PostgresServer.create();
    database = server.createDatabase("restart");
    vertx = Vertx.builder().with(new VertxOptions().setPreferNativeTransport(true)).build(); // peer credentials
    Path socket = dir.resolve("cp.sock");
    ControlPlaneConfig defaults = ControlPlaneConfig.defaults(dir.resolve("data"));
    ControlPlaneConfig config = new ControlPlaneConfig(defaults.dataDir(), List.of("unix:" + socket),
        defaults.notReadyAfter(), defaults.lostAfter(), defaults.reconcileInterval(), defaults.callDeadline(),
        defaults.restartBackoffMax(), defaults.limits())
        .withStore(PostgresTarget.parse(database.url(), database.password()));
    Await.result(vertx.deployVerticle(new ControlPlaneVerticle(config)));
    api = SocketAddress.domainSocketAddress(socket.toString());
    grpc = GrpcClient.client(vertx);
  }

  @AfterEach
  void stop() {
    if (vertx != null) {
      Await.result(vertx.close());
    }
    if (server != null) {
      server.close();
    }
  }

  @Test
  @DisplayName("PostgreSQL restarted under a create load: UNAVAILABLE naming the store meanwhile, then served again, and every acknowledged VM is stored")
  void restartUnderLoad() throws Exception {
    Map<String, String> acknowledged = new ConcurrentHashMap<>(); // name -> id
    List<String> unavailable = new CopyOnWriteArrayList<>();
    List<Throwable> other = new CopyOnWriteArrayList<>();
    AtomicBoolean running = new AtomicBoolean(true);
    AtomicInteger names = new AtomicInteger();
    List<Promise<Void>> clients = new ArrayList<>();
    for (int c = 0; c < CLIENTS; c++) {
      Promise<Void> done = Promise.promise();
      clients.add(done);
      vertx.runOnContext(v -> createInALoop(running, names, acknowledged, unavailable, other, done));
    }
    Await.atMost(DEADLINE).until(() -> acknowledged.size() >= 50 || !other.isEmpty(),
        "50 creates acknowledged before the stop");
    assertThat(other).as("failures while PostgreSQL is up").isEmpty();

    server.stop();
    Await.atMost(DEADLINE).until(() -> unavailable.size() >= 10, "creates refused while PostgreSQL is down");
    int ackedWhileDown = acknowledged.size();
    server.start();
    Await.atMost(DEADLINE).until(() -> acknowledged.size() >= ackedWhileDown + 50, "creates acknowledged again");
    running.set(false);
    for (Promise<Void> client : clients) {
      Await.result(client.future(), DEADLINE);
    }

    assertThat(other).as("failures other than UNAVAILABLE").isEmpty();
    assertThat(unavailable).allSatisfy(message -> assertThat(message)
        .isEqualTo("the control plane's store, PostgreSQL at 127.0.0.1:" + server.port() + "/" + database.name()
            + ", is unavailable; retry once it is back"));
    Map<String, String> stored = listAll();
    assertThat(stored).as("every acknowledged VM is stored, under its id").containsAllEntriesOf(acknowledged);
    List<VmEvent> log = events();
    assertThat(log).extracting(VmEvent::getSeq).as("gap-free")
        .containsExactlyElementsOf(java.util.stream.LongStream.rangeClosed(1, log.size()).boxed().toList());
    Set<String> accepted = log.stream().filter(e -> e.getType() == EventType.ACCEPTED).map(VmEvent::getVmId)
        .collect(Collectors.toSet());
    assertThat(accepted).as("an ACCEPTED event for each acknowledged VM").containsAll(acknowledged.values());
  }

  /** One client: creates VMs one after another until told to stop, sorting the answers. */
  private void createInALoop(AtomicBoolean running, AtomicInteger names, Map<String, String> acknowledged,
      List<String> unavailable, List<Throwable> other, Promise<Void> done) {
    if (!running.get()) {
      done.complete();
      return;
    }
    String name = "vm-" + names.incrementAndGet();
    UnaryCalls.call(grpc, api, VmServiceGrpcClient.CreateVm, CreateVmRequest.newBuilder().setSpec(spec(name))
        .setDesiredState(DesiredState.STOPPED).build(), DEADLINE).onComplete(ar -> {
          if (ar.succeeded()) {
            acknowledged.put(name, ar.result().getId());
          } else if (ar.cause() instanceof GrpcCallException e && e.status() == GrpcStatus.UNAVAILABLE) {
            unavailable.add(e.serverMessage());
          } else {
            other.add(ar.cause());
          }
          long pause = ar.succeeded() ? 0 : 20; // a refused caller backs off a little, as a client would
          vertx.setTimer(Math.max(1, pause), t -> createInALoop(running, names, acknowledged, unavailable, other, done));
        });
  }

  private Map<String, String> listAll() {
    Map<String, String> stored = new HashMap<>();
    String token = "";
    do {
      ListVmsResponse page = Await.result(UnaryCalls.call(grpc, api, VmServiceGrpcClient.ListVms,
          ListVmsRequest.newBuilder().setPageSize(1000).setPageToken(token).build(), DEADLINE));
      for (Vm vm : page.getVmsList()) {
        stored.put(vm.getSpec().getName(), vm.getId());
      }
      token = page.getNextPageToken();
    } while (!token.isEmpty());
    return stored;
  }

  private List<VmEvent> events() {
    List<VmEvent> log = new CopyOnWriteArrayList<>();
    Promise<Void> done = Promise.promise();
    grpc.request(api, VmServiceGrpcClient.WatchEvents).compose(request -> {
      request.end(WatchEventsRequest.newBuilder().setStopAtEnd(true).build());
      return request.response();
    }).onSuccess(response -> {
      response.handler(log::add);
      response.endHandler(v -> done.tryComplete());
      response.exceptionHandler(done::tryFail);
    }).onFailure(done::tryFail);
    Await.result(done.future(), DEADLINE);
    return log;
  }

  private static VmSpec spec(String name) {
    return VmSpec.newBuilder().setName(name).setMemoryMib(64)
        .addDevices(ProxiedDevice.newBuilder().setId("lsi0").setDriver("lsi53c895a")
            .addDisks(Disk.newBuilder().setId("boot").setImage(name + ".img")))
        .build();
  }
}
