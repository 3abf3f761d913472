package io.mpqemu.agent.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import io.mpqemu.grpc.MessageLimits;
import io.mpqemu.testing.Await;
import io.mpqemu.v1.EventType;
import io.mpqemu.v1.NodeAgentServiceGrpcClient;
import io.mpqemu.v1.VmEvent;
import io.mpqemu.v1.WatchAgentEventsRequest;
import io.vertx.grpc.client.GrpcClient;
import io.vertx.grpc.client.GrpcClientRequest;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/**
 * A WatchEvents stream ends on the agent the moment its client cancels it or its connection closes,
 * even when it never has an event to write (it filters on a quiet VM): the agent's
 * {@code mpqemu_event_subscribers} gauge on /metrics goes back to 0.
 */
@DisplayName("The agent ends a WatchEvents stream at once when its client cancels or its connection closes")
class WatchCancelTest {

  /** How soon a watcher must be gone: at once, give or take a hop between event loops and a scrape. */
  private static final Duration PROMPTLY = Duration.ofSeconds(2);
  private static final String QUIET_VM = "vm-quiet";

  private AgentHarness agent;
  private HttpClient http;
  private URI metrics;

  @BeforeEach
  void start() throws Exception {
    agent = new AgentHarness().startInProcess(c -> c.withHttpListen("tcp:127.0.0.1:0"));
    String address = agent.verticle().httpAddress();
    metrics = URI.create("http://127.0.0.1:" + address.substring(address.lastIndexOf(':') + 1) + "/metrics");
    http = HttpClient.newHttpClient();
  }

  @AfterEach
  void stop() throws Exception {
    agent.close();
  }

  @Test
  @DisplayName("a watcher filtered on a quiet VM is counted, and gone at once when its client cancels")
  void cancelledQuietWatcherEnds() throws Exception {
    assertThat(subscribers()).as("the agent's own metrics watcher is not a subscriber").isZero();
    List<VmEvent> seen = new CopyOnWriteArrayList<>();
    GrpcClientRequest<WatchAgentEventsRequest, VmEvent> stream = open(agent.grpcClient(), QUIET_VM, seen);
    awaitSubscribers(1);

    stream.cancel();

    awaitSubscribers(0);
    assertThat(seen).as("nothing happened to the quiet VM").isEmpty();
  }

  @Test
  @DisplayName("a watcher filtered on a quiet VM is gone at once when its connection closes")
  void closedConnectionEndsWatcher() throws Exception {
    GrpcClient own = GrpcClient.client(agent.vertx(), MessageLimits.clientOptions());
    open(own, QUIET_VM, new CopyOnWriteArrayList<>());
    open(own, "", new CopyOnWriteArrayList<>());
    awaitSubscribers(2);

    AgentHarness.result(own.close());

    awaitSubscribers(0);
  }

  @Test
  @DisplayName("streams cancelled the moment their headers arrive leave no watcher behind")
  void cancelledAtOnceLeavesNoWatcher() throws Exception {
    List<GrpcClientRequest<WatchAgentEventsRequest, VmEvent>> streams = new ArrayList<>();
    for (int i = 0; i < 8; i++) {
      streams.add(open(agent.grpcClient(), i % 2 == 0 ? QUIET_VM : "", new CopyOnWriteArrayList<>()));
    }
    // no wait for the agent to register them: a cancel may overtake the registration
    for (GrpcClientRequest<WatchAgentEventsRequest, VmEvent> stream : streams) {
      stream.cancel();
    }

    awaitSubscribers(0);
  }

  @Test
  @DisplayName("the VM filter still holds: a watcher sees its own VM's events and none of another's")
  void filterStillApplies() throws Exception {
    List<VmEvent> quiet = new CopyOnWriteArrayList<>();
    List<VmEvent> busy = new CopyOnWriteArrayList<>();
    GrpcClientRequest<WatchAgentEventsRequest, VmEvent> quietStream = open(agent.grpcClient(), QUIET_VM, quiet);
    GrpcClientRequest<WatchAgentEventsRequest, VmEvent> busyStream = open(agent.grpcClient(), "vm-busy", busy);
    awaitSubscribers(2);

    agent.launch("vm-busy", Specs.lsi("busy", agent.bootImage("boot.img", "busy", false)));
    AgentHarness.awaitEvent(busy, e -> e.getType() == EventType.LAUNCHED, Duration.ofSeconds(5));
    agent.stop("vm-busy", 1, true);
    AgentHarness.awaitEvent(busy, e -> e.getType() == EventType.VM_STOPPED, Duration.ofSeconds(5));

    assertThat(busy).extracting(VmEvent::getVmId).containsOnly("vm-busy");
    assertThat(quiet).isEmpty();
    quietStream.cancel();
    busyStream.cancel();
    awaitSubscribers(0);
  }

  // ------------------------------------------------------------------ helpers

  /** Opens WatchEvents on {@code vmId} ("" for every VM) and returns the request, once the stream's headers are in. */
  private GrpcClientRequest<WatchAgentEventsRequest, VmEvent> open(GrpcClient client, String vmId, List<VmEvent> seen) {
    GrpcClientRequest<WatchAgentEventsRequest, VmEvent> request =
        AgentHarness.result(client.request(agent.address(), NodeAgentServiceGrpcClient.WatchEvents));
    request.response().onSuccess(response -> response.handler(seen::add));
    request.end(WatchAgentEventsRequest.newBuilder().setVmId(vmId).build());
    AgentHarness.result(request.response());
    return request;
  }

  private void awaitSubscribers(int expected) {
    Await.atMost(PROMPTLY).every(Duration.ofMillis(50)).until(this::subscribers, n -> n == expected,
        n -> "the agent counts " + n + " WatchEvents streams, not " + expected);
  }

  /** {@code mpqemu_event_subscribers} on the agent's /metrics. */
  private int subscribers() throws Exception {
    String body = http.send(HttpRequest.newBuilder(metrics).GET().build(), HttpResponse.BodyHandlers.ofString()).body();
    String name = "mpqemu_event_subscribers ";
    for (String line : body.split("\n")) {
      if (line.startsWith(name)) {
        return (int) Double.parseDouble(line.substring(name.length()));
      }
    }
    throw new AssertionError("no " + name.strip() + " on /metrics:\n" + body);
  }
}
