package io.mpqemu.agent.qemu;

import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Handler;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.json.DecodeException;
import io.vertx.core.json.JsonObject;
import java.io.FileDescriptor;
import java.io.IOException;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * QMP over a {@link QmpTransport}. One daemon thread, named {@code "qmp-" + name}, reads; writes run
 * one after the other on Vert.x worker threads; replies and events are handled on the Vert.x context
 * that connected, which owns all the client's mutable state. Every command carries an "id" that QEMU
 * echoes in its reply, so commands may be issued concurrently.
 */
public final class QmpClient implements Qmp {

  private static final Logger LOG = LoggerFactory.getLogger(QmpClient.class);

  private final Vertx vertx;
  private final Context context;
  private final String name;
  private final QmpTransport transport;
  private final Thread reader;
  private final Promise<Void> greeting = Promise.promise();
  private final Promise<Void> closed = Promise.promise();
  private final AtomicBoolean closing = new AtomicBoolean();
  private volatile Handler<JsonObject> eventHandler = event -> {};

  // Confined to the context.
  private final Map<String, Pending> pending = new HashMap<>();
  private long lastId;
  private boolean ended;
  private Future<Void> writes = Future.succeededFuture();

  private record Pending(String command, Promise<JsonObject> promise, long timerId) {}

  private QmpClient(Vertx vertx, Context context, String name, QmpTransport transport) {
    this.vertx = vertx;
    this.context = context;
    this.name = name;
    this.transport = transport;
    this.reader = new Thread(this::readLoop, "qmp-" + name);
    this.reader.setDaemon(true);
  }

  /**
   * Opens a transport (in a worker, never on the event loop), reads QEMU's greeting and negotiates
   * with {@code qmp_capabilities}. Replies and events are delivered on the context current at this
   * call (or a new one). Fails, leaving nothing open, when any of it fails or takes longer than
   * {@code timeout}.
   *
   * @param name names the reader thread and appears in messages, as "main" or a VM id
   */
  public static Future<Qmp> connect(
      Vertx vertx, String name, Callable<QmpTransport> transportFactory, Duration timeout) {
    Context context = vertx.getOrCreateContext();
    Future<QmpClient> started =
        context
            .executeBlocking(transportFactory, false)
            .map(transport -> start(vertx, context, name, transport));
    Future<Qmp> negotiated = started.compose(client -> client.negotiate(timeout));
    return negotiated
        .timeout(timeout.toMillis(), TimeUnit.MILLISECONDS)
        .recover(
            failure -> {
              started.onSuccess(QmpClient::close);
              if (!negotiated.isComplete()) {
                return Future.failedFuture(
                    new TimeoutException(
                        "QMP connection " + name + " was not ready within " + timeout));
              }
              return Future.failedFuture(failure);
            });
  }

  private static QmpClient start(
      Vertx vertx, Context context, String name, QmpTransport transport) {
    QmpClient client =
        new QmpClient(
            vertx, context, name, Objects.requireNonNull(transport, "the QMP transport"));
    client.reader.start();
    return client;
  }

  private Future<Qmp> negotiate(Duration timeout) {
    return greeting
        .future()
        .compose(greeted -> execute("qmp_capabilities", null, timeout))
        .map(this);
  }

  @Override
  public Future<JsonObject> execute(String command, JsonObject arguments, Duration timeout) {
    return send(command, arguments, null, timeout);
  }

  @Override
  public Future<Void> getfd(String fdName, FileDescriptor fd, Duration timeout) {
    Objects.requireNonNull(fd, "fd");
    return send("getfd", new JsonObject().put("fdname", fdName), fd, timeout).mapEmpty();
  }

  @Override
  public void eventHandler(Handler<JsonObject> handler) {
    this.eventHandler = Objects.requireNonNull(handler, "handler");
  }

  @Override
  public Future<Void> closed() {
    return closed.future();
  }

  @Override
  public void close() {
    if (closing.compareAndSet(false, true)) {
      closeTransport();
      onContext(() -> terminate(null));
    }
  }

  private Future<JsonObject> send(
      String command, JsonObject arguments, FileDescriptor fd, Duration timeout) {
    Objects.requireNonNull(command, "command");
    Objects.requireNonNull(timeout, "timeout");
    Promise<JsonObject> promise = Promise.promise();
    onContext(() -> begin(command, arguments, fd, timeout, promise));
    return promise.future();
  }

  private void begin(
      String command,
      JsonObject arguments,
      FileDescriptor fd,
      Duration timeout,
      Promise<JsonObject> promise) {
    if (ended) {
      promise.fail(new IOException("QMP connection " + name + " is closed; " + command + " not sent"));
      return;
    }
    String id = Long.toString(++lastId);
    JsonObject message = new JsonObject().put("execute", command);
    if (arguments != null) {
      message.put("arguments", arguments);
    }
    message.put("id", id);
    long timerId = vertx.setTimer(Math.max(1, timeout.toMillis()), t -> expire(id, timeout));
    pending.put(id, new Pending(command, promise, timerId));
    write(message.encode(), fd)
        .onFailure(
            e -> fail(id, new IOException("could not send " + command + " to QMP " + name, e)));
  }

  /** Writes one line after the previous write, on a worker; call on the context. */
  private Future<Void> write(String line, FileDescriptor fd) {
    Future<Void> next =
        writes.transform(
            previous ->
                context.executeBlocking(
                    () -> {
                      transport.send(line, fd);
                      return null;
                    },
                    false));
    writes = next;
    return next;
  }

  private void expire(String id, Duration timeout) {
    Pending expired = pending.remove(id);
    if (expired != null) {
      expired.promise().fail(
          new TimeoutException(
              "QMP " + name + ": no reply to " + expired.command() + " within " + timeout));
    }
  }

  private void fail(String id, Throwable failure) {
    Pending failed = pending.remove(id);
    if (failed != null) {
      vertx.cancelTimer(failed.timerId());
      failed.promise().fail(failure);
    }
  }

  private void readLoop() {
    Throwable failure = null;
    try {
      String line;
      while ((line = transport.readLine()) != null) {
        if (line.isBlank()) {
          continue;
        }
        JsonObject message;
        try {
          message = new JsonObject(line);
        } catch (DecodeException e) {
          LOG.warn("QMP {}: ignoring a line that is not a JSON object: {}", name, line);
          continue;
        }
        context.runOnContext(v -> dispatch(message));
      }
    } catch (IOException | RuntimeException e) {
      failure = e;
      if (!closing.get()) {
        // QEMU resets the connection when it exits (quit, crash, kill): the process supervisor
        // reports why; here one line is enough
        LOG.info("vm={} QMP connection ended: {}", name, e.getMessage());
      }
    } finally {
      closeTransport();
      Throwable cause = failure;
      context.runOnContext(v -> afterReader(cause));
    }
  }

  /** On the context, once the reader thread has read its last line. */
  private void afterReader(Throwable cause) {
    terminate(cause);
    context
        .executeBlocking(
            () -> {
              reader.join();
              return null;
            },
            false)
        .onComplete(joined -> closed.tryComplete());
  }

  private void dispatch(JsonObject message) {
    if (message.containsKey("QMP")) {
      greeting.tryComplete();
    } else if (!greeting.future().isComplete()) {
      greeting.tryFail(new IOException("QMP " + name + ": expected a QMP greeting, got " + message));
    } else if (message.containsKey("event")) {
      deliverEvent(message);
    } else {
      deliverReply(message);
    }
  }

  private void deliverEvent(JsonObject event) {
    try {
      eventHandler.handle(event);
    } catch (RuntimeException e) {
      LOG.warn("QMP {}: the event handler failed on {}", name, event, e);
    }
  }

  private void deliverReply(JsonObject reply) {
    Object id = reply.getValue("id");
    Pending replied = id == null ? null : pending.remove(id.toString());
    if (replied == null) {
      LOG.debug("QMP {}: a reply to no pending command: {}", name, reply);
      return;
    }
    vertx.cancelTimer(replied.timerId());
    if (reply.getValue("error") instanceof JsonObject error) {
      replied
          .promise()
          .fail(
              new QmpException(
                  replied.command(), error.getString("class"), error.getString("desc")));
      return;
    }
    Object value = reply.getValue("return");
    replied
        .promise()
        .complete(value instanceof JsonObject object ? object : new JsonObject().put("return", value));
  }

  /** Fails every pending command; on the context. */
  private void terminate(Throwable cause) {
    if (ended) {
      return;
    }
    ended = true;
    List<Pending> failed = List.copyOf(pending.values());
    pending.clear();
    for (Pending p : failed) {
      vertx.cancelTimer(p.timerId());
      p.promise()
          .fail(
              new IOException(
                  "QMP connection " + name + " closed before the reply to " + p.command(), cause));
    }
    greeting.tryFail(new IOException("QMP connection " + name + " closed before its greeting", cause));
  }

  private void closeTransport() {
    try {
      transport.close();
    } catch (IOException e) {
      LOG.debug("QMP {}: closing the transport failed", name, e);
    }
  }

  private void onContext(Runnable action) {
    if (Vertx.currentContext() == context) {
      action.run();
    } else {
      context.runOnContext(v -> action.run());
    }
  }
}
