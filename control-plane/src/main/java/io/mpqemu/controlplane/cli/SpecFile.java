package io.mpqemu.controlplane.cli;

import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.util.JsonFormat;
import io.mpqemu.v1.CreateVmRequest;
import io.mpqemu.v1.VmSpec;
import io.vertx.core.json.DecodeException;
import io.vertx.core.json.JsonObject;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Reads {@code vm create -f FILE}: the protobuf JSON form of a CreateVmRequest ({@code {"spec": ...}})
 * or of a bare VmSpec. Whatever is wrong with the file is a {@link UsageException} that says so.
 */
final class SpecFile {

  private SpecFile() {}

  static CreateVmRequest read(Path file) {
    String text;
    try {
      text = Files.readString(file);
    } catch (IOException e) {
      throw new UsageException("cannot read spec file " + file + ": " + describe(e));
    }
    return parse(file.toString(), text);
  }

  static CreateVmRequest parse(String source, String text) {
    JsonObject json;
    try {
      json = new JsonObject(text);
    } catch (DecodeException | ClassCastException e) {
      throw new UsageException(source + " is not a JSON object: " + e.getMessage());
    }
    CreateVmRequest.Builder request = CreateVmRequest.newBuilder();
    if (json.containsKey("spec")) {
      merge(source, text, request, "a CreateVmRequest");
    } else {
      VmSpec.Builder spec = VmSpec.newBuilder();
      merge(source, text, spec, "a VmSpec (or a CreateVmRequest with a \"spec\" field)");
      request.setSpec(spec);
    }
    if (request.getSpec().equals(VmSpec.getDefaultInstance())) {
      throw new UsageException(source + " holds an empty VM spec");
    }
    return request.build();
  }

  private static void merge(String source, String text, com.google.protobuf.Message.Builder into, String what) {
    try {
      JsonFormat.parser().merge(text, into);
    } catch (InvalidProtocolBufferException e) {
      throw new UsageException(source + " is not " + what + " in protobuf JSON: " + e.getMessage());
    }
  }

  private static String describe(IOException e) {
    return e instanceof java.nio.file.NoSuchFileException ? "no such file"
        : e instanceof java.nio.file.AccessDeniedException ? "permission denied"
        : e.getMessage();
  }
}
