package io.mpqemu.access;

import io.mpqemu.fleet.Role;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * How a service decides who may call it, as configured.
 *
 * @param operatorGroups UNIX groups whose members are operators ({@code --operator-group})
 * @param viewerGroups UNIX groups whose members are viewers ({@code --viewer-group})
 * @param insecureTcp {@code --insecure-plaintext-tcp}: plaintext gRPC on loopback TCP, every local caller an operator
 * @param httpHosts names the HTTP endpoints answer to besides the loopback names and the listen address
 * @param maxStreamsPerCaller concurrent event streams (WatchEvents, SSE) one identity may hold
 */
public record AccessSettings(List<String> operatorGroups, List<String> viewerGroups, boolean insecureTcp,
    List<String> httpHosts, int maxStreamsPerCaller) {

  public static final int DEFAULT_MAX_STREAMS = 100;

  public AccessSettings {
    operatorGroups = List.copyOf(operatorGroups);
    viewerGroups = List.copyOf(viewerGroups);
    httpHosts = List.copyOf(httpHosts);
    if (maxStreamsPerCaller < 1) {
      throw new IllegalArgumentException("the stream limit per caller must be at least 1, was " + maxStreamsPerCaller);
    }
  }

  /** No groups, no plaintext TCP, no extra host names, 100 streams per caller. */
  public static AccessSettings defaults() {
    return new AccessSettings(List.of(), List.of(), false, List.of(), DEFAULT_MAX_STREAMS);
  }

  public AccessSettings withInsecureTcp(boolean insecure) {
    return new AccessSettings(operatorGroups, viewerGroups, insecure, httpHosts, maxStreamsPerCaller);
  }

  public AccessSettings withGroups(List<String> operators, List<String> viewers) {
    return new AccessSettings(operators, viewers, insecureTcp, httpHosts, maxStreamsPerCaller);
  }

  public AccessSettings withMaxStreamsPerCaller(int max) {
    return new AccessSettings(operatorGroups, viewerGroups, insecureTcp, httpHosts, max);
  }

  /**
   * The policy these settings make for a service whose certificate roles map as {@code certificateRoles};
   * resolves the groups (blocks: call at start-up, off any event loop).
   *
   * @throws IllegalArgumentException naming a group that does not exist
   */
  public AccessPolicy policy(Map<Role, Access> certificateRoles) {
    return new AccessPolicy(LocalAccess.resolve(selfUid(), operatorGroups, viewerGroups), certificateRoles, insecureTcp);
  }

  private static int selfUid() {
    try {
      return (Integer) Files.getAttribute(Path.of("/proc/self"), "unix:uid");
    } catch (IOException e) {
      throw new IllegalStateException("cannot read this process's uid from /proc/self: " + e.getMessage(), e);
    }
  }
}
