package io.mpqemu.controlplane.http;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.Timestamp;
import com.google.protobuf.util.JsonFormat;
import io.mpqemu.controlplane.ControlPlaneConfig;
import io.mpqemu.controlplane.ControlPlaneVerticle;
import io.mpqemu.controlplane.http.HttpClientSupport.Answer;
import io.mpqemu.controlplane.http.HttpClientSupport.EventStream;
import io.mpqemu.controlplane.http.HttpClientSupport.Message;
import io.mpqemu.grpc.UnaryCalls;
import io.mpqemu.metrics.ServiceRegistry;
import io.mpqemu.v1.CreateVmRequest;
import io.mpqemu.v1.DesiredState;
import io.mpqemu.v1.Disk;
import io.mpqemu.v1.EventType;
import io.mpqemu.v1.ListNodesResponse;
import io.mpqemu.v1.ListVmsResponse;
import io.mpqemu.v1.NodeHeartbeat;
import io.mpqemu.v1.NodeInfo;
import io.mpqemu.v1.Phase;
import io.mpqemu.v1.StartVmRequest;
import io.mpqemu.v1.VmRef;
import io.mpqemu.v1.ProxiedDevice;
import io.mpqemu.v1.Vm;
import io.mpqemu.v1.VmEvent;
import io.mpqemu.v1.VmServiceGrpcClient;
import io.mpqemu.v1.VmSpec;
import io.mpqemu.wire.BusAddresses;
import io.vertx.core.MultiMap;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpClient;
import io.vertx.core.json.JsonObject;
import io.vertx.core.net.SocketAddress;
import io.vertx.grpc.client.GrpcClient;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A real control plane on a temporary data dir, driven over gRPC, read over HTTP. No agent, no QEMU. */
class ControlPlaneHttpTest {

  @TempDir
  Path dataDir;

  private Vertx vertx;
  private HttpClient http;
  private GrpcClient grpc;
  private SocketAddress grpcAddress;
  private int port;

  @BeforeEach
  void start() throws Exception {
    vertx = Vertx.vertx();
    ControlPlaneConfig defaults = ControlPlaneConfig.defaults(dataDir);
    ControlPlaneConfig config = new ControlPlaneConfig(dataDir, List.of("tcp:127.0.0.1:0"), defaults.notReadyAfter(),
        defaults.lostAfter(), Duration.ofHours(1), defaults.callDeadline(), defaults.restartBackoffMax(),
        defaults.limits(), "tcp:127.0.0.1:0")
        // what HTTP answers is under test here, not who may ask (HttpDoorsTest): loopback callers are trusted
        .withAccess(io.mpqemu.access.AccessSettings.defaults().withInsecureTcp(true));
    ControlPlaneVerticle cp = new ControlPlaneVerticle(config);
    HttpClientSupport.await(vertx.deployVerticle(cp));
    String grpcBound = cp.boundAddresses().get(0);
    grpcAddress = SocketAddress.inetSocketAddress(Integer.parseInt(grpcBound.substring(grpcBound.lastIndexOf(':') + 1)),
        "127.0.0.1");
    port = Integer.parseInt(cp.httpAddress().substring(cp.httpAddress().lastIndexOf(':') + 1));
    // a fresh connection per request: the Vert.x 5.0.7 client now and then never completes a response read
    // on a reused keep-alive connection (the server did send it; the JDK client on the same server never stalls)
    http = vertx.createHttpClient(new io.vertx.core.http.HttpClientOptions().setKeepAlive(false));
    grpc = GrpcClient.client(vertx);
  }

  @AfterEach
  void stop() throws Exception {
    vertx.close().toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
  }

  private Vm create(String name, String... labels) throws Exception {
    VmSpec.Builder spec = VmSpec.newBuilder().setName(name).setMemoryMib(64)
        .addDevices(ProxiedDevice.newBuilder().setId("lsi0").setDriver("lsi53c895a")
            .addDisks(Disk.newBuilder().setId("boot").setImage("hello.img")));
    for (int i = 0; i < labels.length; i += 2) {
      spec.putLabels(labels[i], labels[i + 1]);
    }
    return HttpClientSupport.await(UnaryCalls.call(grpc, grpcAddress, VmServiceGrpcClient.CreateVm,
        CreateVmRequest.newBuilder().setSpec(spec).setDesiredState(DesiredState.STOPPED).build(), Duration.ofSeconds(30)));
  }

  private Answer get(String uri) throws Exception {
    return HttpClientSupport.get(http, port, uri);
  }

  private static void eventually(String what, BooleanSupplier condition) throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() > deadline) {
        throw new AssertionError("timed out waiting for " + what);
      }
      Thread.sleep(20);
    }
  }

  private static VmEvent parseEvent(String json) throws Exception {
    VmEvent.Builder b = VmEvent.newBuilder();
    JsonFormat.parser().merge(json, b);
    return b.build();
  }

  private static void assertError(Answer a, int status, String code, String messagePart) {
    assertThat(a.status()).as(a.body()).isEqualTo(status);
    assertThat(a.contentType()).isEqualTo("application/json");
    JsonObject error = a.json().getJsonObject("error");
    assertThat(error.getString("code")).isEqualTo(code);
    assertThat(error.getString("message")).contains(messagePart);
  }

  // ------------------------------------------------------------------ health

  @Test
  @DisplayName("/healthz answers 200 and /readyz 200 once the store answers, the bus consumers run and the verticle started")
  void health() throws Exception {
    Answer health = get("/healthz");
    assertThat(health.status()).isEqualTo(200);
    assertThat(health.json().getString("status")).isEqualTo("alive");

    Answer ready = get("/readyz");
    assertThat(ready.status()).isEqualTo(200);
    assertThat(ready.json().getBoolean("ready")).isTrue();
    assertThat(ready.json().getJsonArray("checks").stream().map(c -> ((JsonObject) c).getString("name")))
        .containsExactly("started", "bus", "store", "leadership");
    assertThat(ready.json().getJsonArray("checks").getJsonObject(3).getString("detail"))
        .isEqualTo("leads (alone on its store)");
  }

  // ------------------------------------------------------------------ metrics

  @Test
  @DisplayName("/metrics counts VMs by phase, the event log, a launch and its latency from agent events, heartbeats and dropped events")
  void metrics() throws Exception {
    Vm web = create("web");
    Answer before = get("/metrics");
    assertThat(before.status()).isEqualTo(200);
    assertThat(before.contentType()).isEqualTo(ServiceRegistry.CONTENT_TYPE);
    assertThat(before.body()).contains("# HELP mpqemu_vms ", "# TYPE mpqemu_vms gauge\n",
        "# TYPE mpqemu_launch_seconds histogram\n", "# TYPE mpqemu_node_heartbeats_total counter\n",
        "# TYPE mpqemu_bus_messages_dropped_total counter\n");
    assertThat(before.sample("mpqemu_vms{phase=\"stopped\"}")).isEqualTo(1);
    assertThat(before.sample("mpqemu_event_log_last_seq")).isEqualTo(1);
    assertThat(before.sample("mpqemu_launches_total")).isZero();
    assertThat(before.sample("mpqemu_event_subscribers")).isZero();
    assertThat(before.sample("mpqemu_nodes{state=\"ready\"}")).as("a state without nodes shows 0").isZero();
    assertThat(before.sample("mpqemu_bus_messages_dropped_total{reason=\"other_nodes_vm\"}")).isZero();
    assertThat(before.sample("mpqemu_bus_messages_dropped_total{reason=\"unknown_vm\"}")).isZero();

    // node-a speaks only for VMs placed on it: about web, stopped and placed nowhere, and about a VM
    // nobody created, its events are dropped and counted, and leave no row
    publish(BusAddresses.VM_EVENTS, agentEvent(web, EventType.LAUNCHED, Phase.PHASE_RUNNING, 1, 99_000));
    publish(BusAddresses.VM_EVENTS, agentEvent(web, EventType.LAUNCHED, Phase.PHASE_RUNNING, 1, 99_000).toBuilder()
        .setVmId("00000000-0000-4000-8000-00000000dead").build());
    eventually("the drops to be counted", () -> {
      try {
        Answer a = get("/metrics");
        return Double.valueOf(1).equals(a.sample("mpqemu_bus_messages_dropped_total{reason=\"other_nodes_vm\"}"))
            && Double.valueOf(1).equals(a.sample("mpqemu_bus_messages_dropped_total{reason=\"unknown_vm\"}"));
      } catch (Exception e) {
        throw new IllegalStateException(e);
      }
    });
    Answer dropped = get("/metrics");
    assertThat(dropped.sample("mpqemu_vms{phase=\"stopped\"}")).isEqualTo(1);
    assertThat(dropped.sample("mpqemu_event_log_last_seq")).as("no row for a dropped event").isEqualTo(1);

    // a heartbeat (a UNIX endpoint is fine without a cluster), then web is started: placed on node-a
    publish(BusAddresses.HEARTBEATS, NodeHeartbeat.newBuilder().setNodeId("node-a").setEndpoint("unix:/nonexistent")
        .setInfo(placeable("node-a")).build());
    eventually("node-a to be READY", () -> {
      try {
        return Double.valueOf(1).equals(get("/metrics").sample("mpqemu_nodes{state=\"ready\"}"));
      } catch (Exception e) {
        throw new IllegalStateException(e);
      }
    });
    HttpClientSupport.await(UnaryCalls.call(grpc, grpcAddress, VmServiceGrpcClient.StartVm, StartVmRequest.newBuilder()
        .setVm(VmRef.newBuilder().setId(web.getId())).build(), Duration.ofSeconds(30)));
    eventually("web to be placed on node-a", () -> {
      try {
        Vm.Builder vm = Vm.newBuilder();
        JsonFormat.parser().merge(get("/v1/vms/" + web.getId()).body(), vm);
        return vm.getStatus().getNode().equals("node-a");
      } catch (Exception e) {
        throw new IllegalStateException(e);
      }
    });

    // what node-a publishes then: a launch that took 1.5 s
    publish(BusAddresses.VM_EVENTS, agentEvent(web, EventType.LAUNCH_STARTED, Phase.PHASE_LAUNCHING, 1, 100_000));
    publish(BusAddresses.VM_EVENTS, agentEvent(web, EventType.LAUNCHED, Phase.PHASE_RUNNING, 2, 101_500));
    eventually("the launch to be counted", () -> {
      try {
        return Double.valueOf(1).equals(get("/metrics").sample("mpqemu_launch_seconds_count"));
      } catch (Exception e) {
        throw new IllegalStateException(e);
      }
    });

    Answer after = get("/metrics");
    assertThat(after.sample("mpqemu_launches_total")).isEqualTo(1);
    assertThat(after.sample("mpqemu_launch_failures_total")).isZero();
    assertThat(after.sample("mpqemu_launch_seconds_bucket{le=\"1.0\"}")).isZero();
    assertThat(after.sample("mpqemu_launch_seconds_bucket{le=\"2.5\"}")).isEqualTo(1);
    assertThat(after.sample("mpqemu_launch_seconds_sum")).isEqualTo(1.5);
    assertThat(after.sample("mpqemu_vms{phase=\"running\"}")).isEqualTo(1);
    assertThat(after.sample("mpqemu_vms{phase=\"stopped\"}")).isZero();
    assertThat(after.sample("mpqemu_node_heartbeats_total")).isEqualTo(1);
    assertThat(after.sample("mpqemu_nodes{state=\"ready\"}")).isEqualTo(1);
    assertThat(after.sample("mpqemu_event_log_last_seq")).isGreaterThanOrEqualTo(5);
    assertThat(after.sample("mpqemu_bus_messages_dropped_total{reason=\"other_nodes_vm\"}")).isEqualTo(1);
  }

  /** A node's info that a small VM fits: multi-process QEMU, the LSI driver, memory. */
  static NodeInfo placeable(String nodeId) {
    return NodeInfo.newBuilder().setNodeId(nodeId).setMultiprocessSupported(true).addAllowedDrivers("lsi53c895a")
        .setCapacity(io.mpqemu.v1.Capacity.newBuilder().setMemoryMib(4096).setMaxVms(8).setMaxMemoryMibPerVm(4096)
            .setMaxDevicesPerVm(4).setMaxDisksPerDevice(4).setMaxVcpusPerVm(8)).build();
  }

  private void publish(String address, com.google.protobuf.Message m) throws Exception {
    vertx.eventBus().publish(address, new JsonObject(JsonFormat.printer().print(m)));
  }

  private static VmEvent agentEvent(Vm vm, EventType type, Phase phase, long vmSeq, long millis) {
    return VmEvent.newBuilder().setVmId(vm.getId()).setVmName(vm.getSpec().getName()).setNode("node-a").setVmSeq(vmSeq)
        .setType(type).setPhase(phase).setTime(Timestamp.newBuilder().setSeconds(millis / 1000)
            .setNanos((int) (millis % 1000) * 1_000_000)).build();
  }

  // ------------------------------------------------------------------ events

  @Test
  @DisplayName("/v1/events replays from Last-Event-ID, then streams live events with no gap and no duplicate")
  void eventsResumeThenLive() throws Exception {
    create("a");
    create("b");
    create("c");
    MultiMap headers = MultiMap.caseInsensitiveMultiMap().add("Last-Event-ID", "1");
    // the header wins over ?from=, as when an EventSource reconnects to the URL it was opened with
    EventStream stream = HttpClientSupport.events(http, port, "/v1/events?from=0", headers);
    eventually("the replay", () -> stream.messages.size() >= 2);

    create("d");
    create("e");
    eventually("the live events", () -> stream.messages.size() >= 4);
    Thread.sleep(200);

    assertThat(stream.response.getHeader("content-type")).startsWith("text/event-stream");
    assertThat(stream.messages).extracting(Message::id).containsExactly("2", "3", "4", "5");
    for (Message m : stream.messages) {
      VmEvent e = parseEvent(m.data());
      assertThat(e.getSeq()).isEqualTo(Long.parseLong(m.id()));
      assertThat(m.event()).isEqualTo(e.getType().name()).isEqualTo("ACCEPTED");
    }
    assertThat(parseEvent(stream.messages.get(3).data()).getVmName()).isEqualTo("e");
    stream.close();
  }

  @Test
  @DisplayName("/v1/events?from=N replays the events after N; vm_id keeps one VM's")
  void eventsFromQuery() throws Exception {
    create("a");
    Vm b = create("b");
    create("c");

    EventStream fromOne = HttpClientSupport.events(http, port, "/v1/events?from=1", null);
    EventStream onlyB = HttpClientSupport.events(http, port, "/v1/events?vm_id=" + b.getId(), null);
    eventually("the replays", () -> fromOne.messages.size() >= 2 && onlyB.messages.size() >= 1);
    Thread.sleep(200);

    assertThat(fromOne.messages).extracting(Message::id).containsExactly("2", "3");
    assertThat(onlyB.messages).extracting(Message::id).containsExactly("2");
    fromOne.close();
    onlyB.close();
  }

  @Test
  @DisplayName("/v1/events refuses a seq beyond the log, a malformed Last-Event-ID and an unknown parameter with JSON errors")
  void eventsBadRequests() throws Exception {
    create("a");
    assertError(get("/v1/events?from=99"), 400, "OUT_OF_RANGE", "beyond the end of the event log (seq 1)");
    assertError(get("/v1/events?from=-1"), 400, "INVALID_ARGUMENT", "from must be an event seq");
    assertError(get("/v1/events?vm_id=Bad!"), 400, "INVALID_ARGUMENT", "vm_id is not a valid VM id");
    assertError(get("/v1/events?since=3"), 400, "INVALID_ARGUMENT", "unknown query parameter 'since'");
    Answer badHeader = HttpClientSupport.get(port, "/v1/events", java.util.Map.of("Last-Event-ID", "abc"));
    assertError(badHeader, 400, "INVALID_ARGUMENT", "the Last-Event-ID header must be an event seq");
  }

  @Test
  @DisplayName("a closed /v1/events connection ends its subscription")
  void closedStreamUnsubscribes() throws Exception {
    create("a");
    EventStream stream = HttpClientSupport.events(http, port, "/v1/events", null);
    eventually("the replay", () -> stream.messages.size() == 1);
    assertThat(get("/metrics").sample("mpqemu_event_subscribers")).isEqualTo(1);

    stream.close();
    eventually("the subscription to end", () -> {
      try {
        return Double.valueOf(0).equals(get("/metrics").sample("mpqemu_event_subscribers"));
      } catch (Exception e) {
        throw new IllegalStateException(e);
      }
    });
  }

  // ------------------------------------------------------------------ JSON

  @Test
  @DisplayName("/v1/vms lists VMs as ListVmsResponse JSON, filtered and paged like ListVms")
  void listVms() throws Exception {
    create("web-1", "app", "web");
    create("web-2", "app", "web");
    create("db", "app", "db");

    ListVmsResponse all = listVms("/v1/vms");
    assertThat(all.getVmsList()).extracting(v -> v.getSpec().getName()).containsExactlyInAnyOrder("web-1", "web-2", "db");
    assertThat(all.getNextPageToken()).isEmpty();

    ListVmsResponse first = listVms("/v1/vms?page_size=2");
    assertThat(first.getVmsCount()).isEqualTo(2);
    assertThat(first.getNextPageToken()).isNotEmpty();
    ListVmsResponse second = listVms("/v1/vms?page_size=2&page_token=" + first.getNextPageToken());
    assertThat(second.getVmsCount()).isEqualTo(1);
    assertThat(second.getNextPageToken()).isEmpty();

    assertThat(listVms("/v1/vms?label_selector=app%3Dweb").getVmsList()).extracting(v -> v.getSpec().getName())
        .containsExactlyInAnyOrder("web-1", "web-2");
    assertThat(listVms("/v1/vms?phase=stopped").getVmsCount()).isEqualTo(3);
    assertThat(listVms("/v1/vms?phase=PHASE_STOPPED").getVmsCount()).isEqualTo(3);
    assertThat(listVms("/v1/vms?phase=running").getVmsCount()).isZero();
    assertThat(listVms("/v1/vms?node=node-x").getVmsCount()).isZero();
  }

  private ListVmsResponse listVms(String uri) throws Exception {
    Answer a = get(uri);
    assertThat(a.status()).as(a.body()).isEqualTo(200);
    assertThat(a.contentType()).isEqualTo("application/json");
    ListVmsResponse.Builder b = ListVmsResponse.newBuilder();
    JsonFormat.parser().merge(a.body(), b);
    return b.build();
  }

  @Test
  @DisplayName("/v1/vms/{id-or-name} answers the Vm by id or by name, and 404 JSON for an unknown one")
  void getVm() throws Exception {
    Vm web = create("web");

    for (String ref : List.of("web", web.getId())) {
      Answer a = get("/v1/vms/" + ref);
      assertThat(a.status()).isEqualTo(200);
      Vm.Builder vm = Vm.newBuilder();
      JsonFormat.parser().merge(a.body(), vm);
      assertThat(vm.build()).isEqualTo(web);
    }
    assertError(get("/v1/vms/nope"), 404, "NOT_FOUND", "no VM named 'nope'");
    assertError(get("/v1/vms/00000000-0000-4000-8000-000000000000"), 404, "NOT_FOUND", "no VM with id");
    assertError(get("/v1/nothing-here"), 404, "NOT_FOUND", "nothing is served at /v1/nothing-here");
  }

  @Test
  @DisplayName("bad query parameters answer 400 with a JSON error that says what to fix")
  void badParameters() throws Exception {
    assertError(get("/v1/vms?phase=sleeping"), 400, "INVALID_ARGUMENT", "phase must be one of pending, scheduled");
    assertError(get("/v1/vms?page_size=abc"), 400, "INVALID_ARGUMENT", "page_size must be a whole number");
    assertError(get("/v1/vms?page_size=5000"), 400, "INVALID_ARGUMENT", "page_size must be at most 1000");
    assertError(get("/v1/vms?page_token=bogus"), 400, "INVALID_ARGUMENT", "page_token is not one this server gave out");
    assertError(get("/v1/vms?label_selector=app"), 400, "INVALID_ARGUMENT", "label_selector must be key=value");
    assertError(get("/v1/vms?colour=red"), 400, "INVALID_ARGUMENT", "unknown query parameter 'colour'");
    assertError(get("/v1/vms?node=a&node=b"), 400, "INVALID_ARGUMENT", "node is given more than once");
    assertError(get("/v1/nodes?x=1"), 400, "INVALID_ARGUMENT", "this endpoint takes none");
  }

  @Test
  @DisplayName("/v1/nodes answers ListNodesResponse JSON with the nodes heard from")
  void nodes() throws Exception {
    Answer none = get("/v1/nodes");
    assertThat(none.status()).isEqualTo(200);
    assertThat(none.json().isEmpty()).isTrue();

    publish(BusAddresses.HEARTBEATS, NodeHeartbeat.newBuilder().setNodeId("node-a").setEndpoint("unix:/nonexistent")
        .setInfo(NodeInfo.newBuilder().setNodeId("node-a")).build());
    eventually("the node", () -> {
      try {
        return get("/v1/nodes").body().contains("node-a");
      } catch (Exception e) {
        throw new IllegalStateException(e);
      }
    });
    ListNodesResponse.Builder b = ListNodesResponse.newBuilder();
    JsonFormat.parser().merge(get("/v1/nodes").body(), b);
    assertThat(b.getNodes(0).getId()).isEqualTo("node-a");
    assertThat(b.getNodes(0).getEndpoint()).isEqualTo("unix:/nonexistent");
  }
}
