package io.mpqemu.errors;

/**
 * How an answer quotes what a caller sent: never more than {@value #MAX_CHARS} characters of it
 * (then "…"), and only printable ASCII, every other character shown as '?'. A caller's value of
 * any length or content then makes a message of bounded length on one line, fit for a gRPC status
 * header, a JSON error and a log line.
 */
public final class Echo {

  /** The most characters of a value a message quotes. */
  public static final int MAX_CHARS = 64;

  /** What follows a value that was cut short. */
  public static final String CUT = "…";

  private Echo() {}

  /** The value as a message may show it, without quotes; "null" for null. */
  public static String of(String value) {
    if (value == null) {
      return "null";
    }
    int end = Math.min(value.length(), MAX_CHARS);
    StringBuilder out = new StringBuilder(end + CUT.length());
    for (int i = 0; i < end; i++) {
      char c = value.charAt(i);
      out.append(c >= 0x20 && c < 0x7f ? c : '?');
    }
    if (value.length() > end) {
      out.append(CUT);
    }
    return out.toString();
  }

  /** {@link #of} in single quotes: {@code 'value'}. */
  public static String quote(String value) {
    return "'" + of(value) + "'";
  }
}
