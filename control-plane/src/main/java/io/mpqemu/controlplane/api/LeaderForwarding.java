package io.mpqemu.controlplane.api;

import io.mpqemu.controlplane.leadership.LeaseStore;
import io.mpqemu.controlplane.leadership.Leadership;
import io.mpqemu.controlplane.leadership.Member;
import io.mpqemu.controlplane.leadership.Term;
import io.mpqemu.errors.Failures;
import io.mpqemu.fleet.ClusterTls;
import io.mpqemu.fleet.Role;
import io.mpqemu.grpc.GrpcCallException;
import io.mpqemu.grpc.MessageLimits;
import io.mpqemu.net.Endpoint;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpVersion;
import io.vertx.core.net.SocketAddress;
import io.vertx.grpc.client.GrpcClient;
import io.vertx.grpc.client.GrpcClientOptions;
import io.vertx.grpc.common.GrpcStatus;
import io.vertx.grpc.common.ServiceMethod;
import io.vertx.grpc.server.StatusException;
import java.time.Duration;
import java.util.EnumSet;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A standby's writes go to the leader, as Nomad's and Consul's followers forward theirs: the standby has
 * checked the caller and its role; the leader checks the request again and commits it, and its answer
 * (or refusal) goes back to the caller unchanged. The leader is the lease's holder as last seen, called at
 * an address it announced: under TLS its TCP address (its certificate must be a control plane's naming
 * that host), otherwise its UNIX socket on this host. A forwarded call is never forwarded again, and never
 * retried: an answer lost on the way leaves the write's outcome unknown, which the caller is told.
 */
public final class LeaderForwarding {

  /** Set on a forwarded call: the id of the control plane that forwarded it (a leader does not forward it on). */
  public static final String FORWARDED_BY = "mpqemu-forwarded-by";
  /** Set on a forwarded call: who the caller is to the standby, the owner of a VM it creates. */
  public static final String OWNER = "mpqemu-owner";

  private static final Logger LOG = LoggerFactory.getLogger(LeaderForwarding.class);
  /** How long a connection to the leader may take to open. */
  private static final long CONNECT_WITHIN_MILLIS = 3000;
  /** A leader out of reach is logged at most this often (callers retrying would fill the log). */
  private static final long WARN_EVERY_NANOS = TimeUnit.SECONDS.toNanos(10);
  /** How long an announced address list is used before it is read again. */
  private static final long ADDRESSES_FOR_NANOS = TimeUnit.SECONDS.toNanos(5);

  private final Leadership leadership;
  private final Supplier<Future<LeaseStore.Members>> members;
  private final GrpcClient client;
  private final boolean tls;
  private final Duration deadline;
  private volatile Announced announced = new Announced(List.of(), 0);
  private final java.util.concurrent.atomic.AtomicLong lastWarned =
      new java.util.concurrent.atomic.AtomicLong(System.nanoTime() - WARN_EVERY_NANOS);
  private final java.util.concurrent.atomic.AtomicInteger unwarned = new java.util.concurrent.atomic.AtomicInteger();

  private record Announced(List<Member> members, long readAt) {}

  /**
   * @param members the control planes as announced in the store (read at most every 5 s, and when the
   *     leader is not among them)
   * @param tls this control plane's identity in a cluster, presented to the leader; null on one host
   */
  public LeaderForwarding(Vertx vertx, Leadership leadership, Supplier<Future<LeaseStore.Members>> members,
      ClusterTls tls, Duration deadline) {
    this.leadership = leadership;
    this.members = members;
    this.tls = tls != null;
    this.deadline = deadline;
    GrpcClientOptions options = MessageLimits.clientOptions().setScheduleDeadlineAutomatically(true);
    // a leader whose host is gone must not hold a caller for the transport's default minute
    int connectWithin = (int) Math.min(deadline.toMillis(), CONNECT_WITHIN_MILLIS);
    HttpClientOptions transport = tls == null
        ? new HttpClientOptions().setProtocolVersion(HttpVersion.HTTP_2).setHttp2ClearTextUpgrade(false)
        : tls.client("control-plane call", EnumSet.of(Role.CONTROL_PLANE));
    this.client = GrpcClient.client(vertx, options, transport.setConnectTimeout(connectWithin));
  }

  /** The leader a write should go to: empty when this control plane leads, or when it knows of no other that does. */
  public Optional<String> leader() {
    if (leadership.leads()) {
      return Optional.empty();
    }
    return leadership.lastSeen().map(Term::holder).filter(h -> !h.isEmpty() && !h.equals(leadership.id()));
  }

  /**
   * Sends the call to {@code leader} for {@code owner} and answers with the leader's answer; failures are
   * {@link StatusException}s the caller can act on.
   */
  public <Req, Resp> Future<Resp> forward(String leader, ServiceMethod<Resp, Req> method, Req request, String owner) {
    return address(leader).compose(address -> client.request(address, method).compose(call -> {
      call.headers().set(FORWARDED_BY, leadership.id()).set(OWNER, encode(owner));
      call.timeout(deadline.toMillis(), TimeUnit.MILLISECONDS);
      call.end(request);
      return call.response().compose(response -> response.last().recover(e -> {
        GrpcStatus status = response.status();
        return Future.failedFuture(status != null && status != GrpcStatus.OK
            ? new GrpcCallException(status, response.statusMessage()) : e);
      }));
    }).recover(e -> Future.failedFuture(refusal(leader, address, method, e))));
  }

  /** An owner as a header carries it: percent-encoded UTF-8 (a certificate's CN may hold any character). */
  static String encode(String owner) {
    return java.net.URLEncoder.encode(owner, java.nio.charset.StandardCharsets.UTF_8);
  }

  /** The owner a forwarded call names ("" when it names none, or not in the form {@link #encode} writes). */
  public static String owner(String header) {
    if (header == null) {
      return "";
    }
    try {
      return java.net.URLDecoder.decode(header, java.nio.charset.StandardCharsets.UTF_8);
    } catch (IllegalArgumentException e) {
      return "";
    }
  }

  public Future<Void> close() {
    return client.close();
  }

  private Throwable refusal(String leader, SocketAddress address, ServiceMethod<?, ?> method, Throwable e) {
    if (e instanceof GrpcCallException answer) {
      if (answer.status() == GrpcStatus.DEADLINE_EXCEEDED || answer.status() == GrpcStatus.CANCELLED) {
        return unknown(leader, method);
      }
      return new StatusException(answer.status(), answer.serverMessage()); // the leader's own answer
    }
    if (e instanceof io.vertx.core.http.StreamResetException || e instanceof java.util.concurrent.TimeoutException
        || Failures.rootMessage(e).contains("timeout")) {
      return unknown(leader, method);
    }
    long now = System.nanoTime();
    long last = lastWarned.get();
    if (now - last >= WARN_EVERY_NANOS && lastWarned.compareAndSet(last, now)) { // a client retrying is told each time
      int more = unwarned.getAndSet(0);
      LOG.warn("control plane {}: cannot forward {} to the leader {} at {}: {}{}", leadership.id(), method.methodName(),
          leader, address, Failures.describe(e), more == 0 ? "" : " (and " + more + " more writes in the last 10 s)");
    } else {
      unwarned.incrementAndGet();
    }
    return new StatusException(GrpcStatus.UNAVAILABLE, "this control plane (" + leadership.id() + ") is a standby and"
        + " cannot reach the leader " + leader + " (" + Failures.rootMessage(e) + "); retry: a new leader takes over"
        + " within a few seconds if it is gone");
  }

  private StatusException unknown(String leader, ServiceMethod<?, ?> method) {
    return new StatusException(GrpcStatus.UNAVAILABLE, "the leader " + leader + " did not answer within "
        + deadline.toMillis() + " ms: the " + method.methodName() + " may or may not have been made; read the VM"
        + " before trying again (a CreateVm retried with the same request_id is never made twice)");
  }

  /** Where {@code leader} listens, from its announcement. */
  private Future<SocketAddress> address(String leader) {
    Announced known = announced;
    Optional<SocketAddress> found = pick(known.members(), leader);
    if (found.isPresent() && System.nanoTime() - known.readAt() < ADDRESSES_FOR_NANOS) {
      return Future.succeededFuture(found.get());
    }
    return members.get().transform(read -> {
      if (read.failed()) {
        return Future.failedFuture(new StatusException(GrpcStatus.UNAVAILABLE, "this control plane ("
            + leadership.id() + ") is a standby and cannot read where the leader " + leader + " listens: "
            + Failures.rootMessage(read.cause()) + "; retry"));
      }
      announced = new Announced(read.result().all(), System.nanoTime());
      return pick(read.result().all(), leader).map(Future::succeededFuture).orElseGet(() -> Future.failedFuture(
          new StatusException(GrpcStatus.UNAVAILABLE, "this control plane (" + leadership.id() + ") is a standby, and"
              + " the leader " + leader + " has announced no " + (tls ? "TCP address" : "UNIX socket") + " it could"
              + " forward writes to; send them to the leader")));
    });
  }

  private Optional<SocketAddress> pick(List<Member> all, String leader) {
    return all.stream().filter(m -> m.id().equals(leader)).flatMap(m -> m.addresses().stream())
        .map(a -> Endpoint.parse("announced address", a).socketAddress())
        .filter(a -> tls ? a.isInetSocket() : a.isDomainSocket()).findFirst();
  }
}
