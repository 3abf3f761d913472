package io.mpqemu.access;

/** What a caller may do, in increasing order: each level includes the ones before it. */
public enum Access {
  /** Nothing: not identified, or not in any configured group. */
  NONE("no role"),
  /** Reads: Get, List, Watch, console reads, node info. */
  VIEWER("viewer"),
  /** Everything. */
  OPERATOR("operator");

  private final String text;

  Access(String text) {
    this.text = text;
  }

  /** True when a caller with this access may do what needs {@code needed}. */
  public boolean includes(Access needed) {
    return compareTo(needed) >= 0;
  }

  @Override
  public String toString() {
    return text;
  }
}
