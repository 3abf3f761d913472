package io.mpqemu.agent.images;

/** An image that cannot be used; the message names it and says why, for the caller. */
public final class ImageException extends Exception {

  /** Why, which the API edge maps to a status code. */
  public enum Kind {
    /** Missing on this node, or not a usable file (FAILED_PRECONDITION). */
    UNAVAILABLE,
    /** The agent may not use it: a link, a file with other names, no permission (PERMISSION_DENIED). */
    FORBIDDEN,
    /** Its content would make QEMU open another file (FAILED_PRECONDITION). */
    UNSAFE
  }

  private final Kind kind;

  public ImageException(Kind kind, String message) {
    super(message, null, false, false);
    this.kind = kind;
  }

  public Kind kind() {
    return kind;
  }
}
