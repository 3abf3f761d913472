package io.mpqemu.grpc;

import io.vertx.grpc.client.GrpcClientOptions;
import io.vertx.grpc.server.GrpcServerOptions;

/**
 * The size of one gRPC message, set explicitly on every server and client of ours. Vert.x's default is
 * 256 KiB on both sides ({@code GrpcServerOptions} and {@code GrpcClientOptions}
 * {@code DEFAULT_MAX_MESSAGE_SIZE}, checked on receipt): a client reading a full 1 MiB console tail would
 * fail with RESOURCE_EXHAUSTED only once a log had grown past it.
 */
public final class MessageLimits {

  /** The most a GetConsoleLog call returns (its {@code max_bytes} may not ask for more). */
  public static final int MAX_CONSOLE_BYTES = 1024 * 1024;

  /**
   * The largest message received, both ways: a full console tail plus its framing fits with room, and 4 MiB
   * is grpc-java's and grpc-go's default receive limit, which other clients of ours expect anyway.
   */
  public static final long MAX_MESSAGE_BYTES = 4L * 1024 * 1024;

  private MessageLimits() {
  }

  /** Client options with the limit. */
  public static GrpcClientOptions clientOptions() {
    return new GrpcClientOptions().setMaxMessageSize(MAX_MESSAGE_BYTES);
  }

  /** Server options with the limit. */
  public static GrpcServerOptions serverOptions() {
    return new GrpcServerOptions().setMaxMessageSize(MAX_MESSAGE_BYTES);
  }
}
