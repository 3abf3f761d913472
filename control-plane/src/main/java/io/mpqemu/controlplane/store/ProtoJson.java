package io.mpqemu.controlplane.store;

import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.Message;
import com.google.protobuf.MessageOrBuilder;
import com.google.protobuf.util.JsonFormat;

/** The protobuf JSON form in which the SQLite store keeps specs, statuses, events and node infos. */
final class ProtoJson {

  private static final JsonFormat.Printer PRINTER = JsonFormat.printer().omittingInsignificantWhitespace();
  // Unknown fields are skipped, as protobuf does on the wire: a field added later is not an error.
  private static final JsonFormat.Parser PARSER = JsonFormat.parser().ignoringUnknownFields();

  private ProtoJson() {}

  static String print(MessageOrBuilder message) {
    try {
      return PRINTER.print(message);
    } catch (InvalidProtocolBufferException e) {
      throw new StoreException(StoreException.Kind.FAILED,
          "cannot write a " + message.getDescriptorForType().getName() + " as JSON: " + e.getMessage(), e);
    }
  }

  /** Parses {@code json} into {@code builder}; {@code what} names the row for the error message. */
  @SuppressWarnings("unchecked")
  static <T extends Message> T parse(String json, Message.Builder builder, String what) {
    try {
      PARSER.merge(json, builder);
      return (T) builder.build();
    } catch (InvalidProtocolBufferException e) {
      throw new StoreException(StoreException.Kind.FAILED,
          "the stored " + what + " is not readable: " + e.getMessage(), e);
    }
  }
}
