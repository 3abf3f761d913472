package io.mpqemu.agent.catalog;

/** Why the catalog refused; the kind maps to a status code in the API layer. */
public final class CatalogException extends RuntimeException {

  private static final long serialVersionUID = 1L;

  public enum Kind {
    /** The request itself is wrong: a bad name, format, checksum or size, or bytes that do not match. */
    INVALID,
    EXISTS,
    NOT_FOUND,
    /** The node has no room for the image. */
    NO_SPACE,
    /** A VM of the node uses the image. */
    IN_USE
  }

  private final Kind kind;

  public CatalogException(Kind kind, String message) {
    super(message, null, false, false);
    this.kind = kind;
  }

  public Kind kind() {
    return kind;
  }
}
