package io.mpqemu.grpc;

import io.vertx.grpc.client.GrpcClientResponse;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;

/** The status message of a call as a client reads it. */
public final class StatusMessages {

  private StatusMessages() {}

  /**
   * The status message of a response, including one of a stream that ended after sending messages: that
   * comes in the trailers, where {@code GrpcClientResponse.statusMessage()} (Vert.x 5.0.7) does not look.
   */
  public static String of(GrpcClientResponse<?, ?> resp) {
    String inTrailers = resp.trailers() == null ? null : resp.trailers().get("grpc-message");
    return inTrailers == null ? resp.statusMessage() : percentDecode(inTrailers);
  }

  /** grpc-message is percent-encoded UTF-8 (and, unlike a query string, '+' is a plus). */
  static String percentDecode(String text) {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    for (int i = 0; i < text.length(); i++) {
      char c = text.charAt(i);
      if (c == '%' && i + 2 < text.length()
          && Character.digit(text.charAt(i + 1), 16) >= 0 && Character.digit(text.charAt(i + 2), 16) >= 0) {
        bytes.write(Integer.parseInt(text.substring(i + 1, i + 3), 16));
        i += 2;
      } else {
        bytes.writeBytes(String.valueOf(c).getBytes(StandardCharsets.UTF_8));
      }
    }
    return bytes.toString(StandardCharsets.UTF_8);
  }
}
