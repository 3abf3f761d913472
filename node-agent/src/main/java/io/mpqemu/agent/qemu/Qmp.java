package io.mpqemu.agent.qemu;

import io.vertx.core.Future;
import io.vertx.core.Handler;
import io.vertx.core.json.JsonObject;
import java.io.FileDescriptor;
import java.time.Duration;

/** A negotiated QMP connection to one QEMU process. */
public interface Qmp {

  /**
   * Runs a command. The future succeeds with the "return" value: a JsonObject as QEMU sent it, or
   * {@code {"return": value}} when QEMU returns a non-object (query-pci returns an array). It fails
   * with {@link QmpException} on a QMP error, with {@link java.util.concurrent.TimeoutException}
   * after {@code timeout}, and with an {@link java.io.IOException} when the connection ends first.
   *
   * @param arguments the command's arguments, or null for none
   */
  Future<JsonObject> execute(String command, JsonObject arguments, Duration timeout);

  /** getfd: hands {@code fd} to QEMU under {@code fdName} (SCM_RIGHTS on the same write). */
  Future<Void> getfd(String fdName, FileDescriptor fd, Duration timeout);

  /**
   * Asynchronous QMP events ({@code {"event":..., "data":..., "timestamp":...}}), delivered on the
   * Vert.x context that connected. Events that arrive while no handler is set are dropped; set it
   * in the callback that receives the connection to miss none.
   */
  void eventHandler(Handler<JsonObject> handler);

  /** Completes (successfully) when the connection ends, for whatever reason. */
  Future<Void> closed();

  /** Ends the connection; pending commands fail. Safe to call more than once. */
  void close();
}
