package io.mpqemu.agent.vm;

import static org.assertj.core.api.Assertions.assertThat;

import io.mpqemu.agent.qemu.Qmp;
import io.mpqemu.agent.qemu.QmpException;
import io.vertx.core.Future;
import io.vertx.core.Handler;
import io.vertx.core.Promise;
import io.vertx.core.json.JsonObject;
import java.io.FileDescriptor;
import java.io.IOException;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Supplier;

/**
 * A main QEMU's QMP session as the supervisor sees it: it records every command, answers each with
 * {@code {}} unless told otherwise, runs the side effect a test attached to a command (a quit that
 * ends the main process), and sends events when the test says so.
 */
final class FakeQmp implements Qmp {

  private final List<String> commands = new CopyOnWriteArrayList<>();
  private final Map<String, Supplier<Future<JsonObject>>> answers = new ConcurrentHashMap<>();
  private final Map<String, Runnable> effects = new ConcurrentHashMap<>();
  private final Promise<Void> closed = Promise.promise();
  private volatile Handler<JsonObject> handler;

  /** {@code command} answers with {@code value}. */
  FakeQmp answering(String command, JsonObject value) {
    answers.put(command, () -> Future.succeededFuture(value));
    return this;
  }

  /** {@code command} fails with a QMP error. */
  FakeQmp failing(String command, String description) {
    answers.put(command, () -> Future.failedFuture(new QmpException(command, "GenericError", description)));
    return this;
  }

  /** {@code command} is sent but never answered, as a hung QEMU would. */
  FakeQmp hanging(String command) {
    answers.put(command, () -> Promise.<JsonObject>promise().future());
    return this;
  }

  /** When {@code command} is sent, {@code effect} happens too (before the answer). */
  FakeQmp onCommand(String command, Runnable effect) {
    effects.put(command, effect);
    return this;
  }

  /** QEMU sends an event; call on the event loop. */
  void emitEvent(String event, JsonObject data) {
    assertThat(handler).as("an event handler is set").isNotNull();
    handler.handle(new JsonObject().put("event", event).put("data", data));
  }

  List<String> commands() {
    return List.copyOf(commands);
  }

  void assertCommands(String... expected) {
    assertThat(commands()).containsExactly(expected);
  }

  boolean isClosed() {
    return closed.future().isComplete();
  }

  @Override
  public Future<JsonObject> execute(String command, JsonObject arguments, Duration timeout) {
    if (isClosed()) {
      return Future.failedFuture(new IOException("QMP connection closed"));
    }
    commands.add(command);
    Runnable effect = effects.get(command);
    if (effect != null) {
      effect.run();
    }
    return answers.getOrDefault(command, () -> Future.succeededFuture(new JsonObject())).get();
  }

  @Override
  public Future<Void> getfd(String fdName, FileDescriptor fd, Duration timeout) {
    return execute("getfd", new JsonObject().put("fdname", fdName), timeout).mapEmpty();
  }

  @Override
  public void eventHandler(Handler<JsonObject> handler) {
    this.handler = handler;
  }

  @Override
  public Future<Void> closed() {
    return closed.future();
  }

  @Override
  public void close() {
    closed.tryComplete();
  }
}
