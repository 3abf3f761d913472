package io.mpqemu.agent;

/** The agent's version, from the jar manifest when there is one. */
final class Version {

  private Version() {}

  static String get() {
    String v = Version.class.getPackage().getImplementationVersion();
    return v != null ? v : "dev";
  }
}
