package io.mpqemu.spec;

import java.util.Objects;

/**
 * A VM spec that must not run. The message is one sentence for the client that names the field path
 * (for example {@code devices[1].disks[0].image}) and says what to fix.
 */
public final class InvalidSpecException extends IllegalArgumentException {

  private static final long serialVersionUID = 1L;

  private final String field;

  public InvalidSpecException(String field, String message) {
    super(Objects.requireNonNull(message, "message"));
    this.field = Objects.requireNonNull(field, "field");
  }

  /** The path of the offending field, e.g. {@code devices[1].disks[0].image} or {@code name}. */
  public String field() {
    return field;
  }
}
