package io.mpqemu.http;

/** One readiness condition and what was found, for /readyz. */
public record Check(String name, boolean ok, String detail) {

  public static Check passed(String name, String detail) {
    return new Check(name, true, detail);
  }

  public static Check failed(String name, String detail) {
    return new Check(name, false, detail);
  }
}
