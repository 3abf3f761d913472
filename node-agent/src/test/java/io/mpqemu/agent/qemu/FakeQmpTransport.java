package io.mpqemu.agent.qemu;

import static org.assertj.core.api.Assertions.assertThat;

import io.vertx.core.json.JsonObject;
import java.io.FileDescriptor;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;

/**
 * A scripted QEMU on the other side of a {@link QmpTransport}: it sends a greeting, answers the
 * commands it was told to answer, and records every line sent with the descriptor that travelled
 * with it. Commands without an answer stay unanswered until the test replies with {@link #emit}.
 */
final class FakeQmpTransport implements QmpTransport {

  static final String GREETING =
      "{\"QMP\": {\"version\": {\"qemu\": {\"micro\": 0, \"minor\": 2, \"major\": 7}},"
          + " \"capabilities\": [\"oob\"]}}";

  /** A line sent by the client and the descriptor that travelled with it (or null). */
  record Sent(JsonObject message, FileDescriptor fd) {
    String command() {
      return message.getString("execute");
    }

    String id() {
      return message.getString("id");
    }
  }

  private static final String END = new String("end of stream");

  private final BlockingQueue<String> toClient = new LinkedBlockingQueue<>();
  private final BlockingQueue<Sent> sent = new LinkedBlockingQueue<>();
  private final List<Sent> allSent = new ArrayList<>();
  private final Map<String, Function<JsonObject, JsonObject>> answers = new ConcurrentHashMap<>();
  private volatile boolean closed;

  FakeQmpTransport() {
    this(GREETING);
  }

  FakeQmpTransport(String greeting) {
    if (greeting != null) {
      toClient.add(greeting);
    }
    answerWithReturn("qmp_capabilities", new JsonObject());
  }

  /** Answers every {@code command} with {@code {"return": value, "id": ...}}. */
  FakeQmpTransport answerWithReturn(String command, Object value) {
    return answer(command, msg -> new JsonObject().put("return", value));
  }

  /** Answers every {@code command} with a QMP error. */
  FakeQmpTransport answerWithError(String command, String errorClass, String desc) {
    return answer(
        command,
        msg -> new JsonObject().put("error", new JsonObject().put("class", errorClass).put("desc", desc)));
  }

  /** Answers every {@code command} with what {@code reply} makes of it; the id is added. */
  FakeQmpTransport answer(String command, Function<JsonObject, JsonObject> reply) {
    answers.put(command, reply);
    return this;
  }

  /** Sends a line to the client, as QEMU would (a reply or an event). */
  void emit(JsonObject message) {
    toClient.add(message.encode());
  }

  void emitEvent(String event, JsonObject data) {
    emit(
        new JsonObject()
            .put("event", event)
            .put("data", data)
            .put("timestamp", new JsonObject().put("seconds", 1).put("microseconds", 2)));
  }

  static JsonObject returnTo(Sent command, Object value) {
    return new JsonObject().put("return", value).put("id", command.id());
  }

  /** QEMU closes its end: the client reads end of stream. */
  void endOfStream() {
    toClient.add(END);
  }

  /** The next command sent that has not been taken yet; fails after 5 s. */
  Sent nextSent() throws InterruptedException {
    Sent next = sent.poll(5, TimeUnit.SECONDS);
    assertThat(next).as("a command sent within 5 s").isNotNull();
    return next;
  }

  synchronized List<Sent> allSent() {
    return List.copyOf(allSent);
  }

  void assertCommands(String... commands) {
    assertThat(allSent().stream().map(Sent::command)).containsExactly(commands);
  }

  boolean isClosed() {
    return closed;
  }

  @Override
  public void send(String line, FileDescriptor fd) throws IOException {
    if (closed) {
      throw new IOException("transport closed");
    }
    JsonObject message = new JsonObject(line);
    Sent record = new Sent(message, fd);
    synchronized (this) {
      allSent.add(record);
    }
    Function<JsonObject, JsonObject> answer = answers.get(record.command());
    if (answer != null) {
      toClient.add(answer.apply(message).put("id", record.id()).encode());
    } else {
      sent.add(record);
    }
  }

  @Override
  public String readLine() throws IOException {
    if (closed) {
      throw new IOException("transport closed");
    }
    try {
      String line = toClient.take();
      return closed || line == END ? null : line; // END is compared by identity on purpose
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IOException("interrupted", e);
    }
  }

  @Override
  public void close() {
    closed = true;
    toClient.add(END);
  }
}
