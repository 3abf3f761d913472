package io.mpqemu.access;

/**
 * Who is calling, as far as a service can tell.
 *
 * @param identity the name quotas and stream limits count by, and a VM's owner: {@code unix:alice} (or
 *     {@code unix:uid-1001} without a user name), {@code cert:client-1} (the certificate's CN),
 *     {@code tcp:insecure} for anyone on a plaintext loopback port; "" when not identified
 * @param access what the caller may do
 * @param description how log lines and refusals name the caller: {@code uid 1001 (alice)}, {@code
 *     certificate CN=client-1 (role client)}
 * @param peer another instance of this service: a certificate of the service's own role, or a local process
 *     running as this process's user (which could read this service's keys anyway); it may speak for others
 */
public record Caller(String identity, Access access, String description, boolean peer) {

  public Caller(String identity, Access access, String description) {
    this(identity, access, description, false);
  }

  /** A caller nothing is known of. */
  public static Caller unidentified(String description) {
    return new Caller("", Access.NONE, description);
  }
}
