package io.mpqemu.controlplane.events;

/** What a subscriber who asked for events the log no longer keeps is told, on any channel. */
public final class OutOfRange {

  private OutOfRange() {}

  /** The sentence, naming the oldest kept seq and how to resume ({@code position} is the channel's word for it). */
  public static String message(long firstKept, String position) {
    return "the events asked for are no longer kept: the event log starts at seq " + firstKept + " now; resume with "
        + position + " " + (firstKept - 1) + " (from the oldest kept event), or 0 for the same, and read the VMs' status"
        + " for what happened before";
  }
}
