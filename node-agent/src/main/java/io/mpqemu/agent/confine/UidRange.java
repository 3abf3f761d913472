package io.mpqemu.agent.confine;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The uids (and gids, the same numbers) the agent gives its QEMU processes: {@code count} numbers from
 * {@code first}. The default lies above every range Debian, systemd and container tools hand out
 * (system and regular users below 65536, systemd-nspawn up to 1879048191, subuid ranges), and
 * {@link #conflicts} checks the host's account files at start-up.
 */
public record UidRange(long first, long count) {

  public static final UidRange DEFAULT = new UidRange(2_000_000_000L, 65_536);

  /** uid_t is 32-bit and (uid_t) -1 means "no change" to the kernel. */
  private static final long MAX_UID = 0xFFFF_FFFEL;

  public UidRange {
    if (first < 65_536) {
      throw new IllegalArgumentException("the uid range must start at 65536 or above, above every system and "
          + "regular account, not at " + first);
    }
    if (count < 2 || first + count - 1 > MAX_UID) {
      throw new IllegalArgumentException("the uid range " + first + "+" + count + " must hold at least 2 uids and end "
          + "below " + MAX_UID);
    }
  }

  /** {@code FIRST-LAST}, both included, e.g. 2000000000-2000065535. */
  public static UidRange parse(String text) {
    String[] parts = text.strip().split("-");
    try {
      if (parts.length == 2) {
        long first = Long.parseLong(parts[0]);
        long last = Long.parseLong(parts[1]);
        if (last >= first) {
          return new UidRange(first, last - first + 1);
        }
      }
    } catch (NumberFormatException e) {
      // reported below
    }
    throw new IllegalArgumentException("a uid range is FIRST-LAST, e.g. 2000000000-2000065535, not '" + text + "'");
  }

  public long last() {
    return first + count - 1;
  }

  public boolean contains(long uid) {
    return uid >= first && uid <= last();
  }

  boolean overlaps(long otherFirst, long otherLast) {
    return otherFirst <= last() && otherLast >= first;
  }

  /**
   * What on this host already uses a number of the range: accounts in {@code etc}/passwd and group,
   * and subordinate ranges in subuid and subgid. Empty when the range is free. Blocking.
   */
  public List<String> conflicts(Path etc) throws IOException {
    List<String> found = new ArrayList<>();
    for (String db : List.of("passwd", "group")) {
      for (String line : lines(etc.resolve(db))) {
        String[] f = line.split(":");
        if (f.length > 2 && isNumber(f[2]) && contains(Long.parseLong(f[2]))) {
          found.add(db + " entry '" + f[0] + "' (" + f[2] + ")");
        }
      }
    }
    for (String db : List.of("subuid", "subgid")) {
      for (String line : lines(etc.resolve(db))) {
        String[] f = line.split(":");
        if (f.length == 3 && isNumber(f[1]) && isNumber(f[2])) {
          long start = Long.parseLong(f[1]);
          long end = start + Long.parseLong(f[2]) - 1;
          if (overlaps(start, end)) {
            found.add(db + " range of '" + f[0] + "' (" + start + "-" + end + ")");
          }
        }
      }
    }
    return found;
  }

  @Override
  public String toString() {
    return first + "-" + last();
  }

  private static List<String> lines(Path file) throws IOException {
    try {
      return Files.readAllLines(file, StandardCharsets.UTF_8);
    } catch (NoSuchFileException e) {
      return List.of();
    }
  }

  private static boolean isNumber(String s) {
    return !s.isEmpty() && s.length() < 12 && s.chars().allMatch(Character::isDigit);
  }
}
