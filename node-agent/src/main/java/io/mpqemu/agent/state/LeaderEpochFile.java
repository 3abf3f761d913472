package io.mpqemu.agent.state;

import io.mpqemu.errors.Echo;
import java.io.IOException;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;

/**
 * {@code <stateRoot>/leader-epoch}: the highest leader epoch this node has seen, one decimal number
 * and a newline, replaced atomically (see {@link AtomicFiles}). No file means no epoch seen (0). A
 * file that holds anything else cannot be trusted either way, so reading it fails with a message that
 * says what to do. Blocking.
 */
public final class LeaderEpochFile {

  public static final String NAME = "leader-epoch";

  private final Path file;

  public LeaderEpochFile(Path stateRoot) {
    this.file = stateRoot.toAbsolutePath().normalize().resolve(NAME);
  }

  public Path path() {
    return file;
  }

  /** The recorded epoch; 0 when there is no file. */
  public long read() throws IOException {
    String text;
    try {
      text = Files.readString(file, StandardCharsets.US_ASCII);
    } catch (NoSuchFileException e) {
      return 0;
    } catch (CharacterCodingException e) {
      throw corrupt("bytes that are not ASCII");
    }
    String number = text.endsWith("\n") ? text.substring(0, text.length() - 1) : text;
    if (number.isEmpty() || number.length() > 19 || !number.chars().allMatch(c -> c >= '0' && c <= '9')) {
      throw corrupt(Echo.quote(text));
    }
    try {
      return Long.parseLong(number);
    } catch (NumberFormatException e) {
      throw corrupt(Echo.quote(text));
    }
  }

  /** Replaces the recorded epoch with {@code epoch}, durably. */
  public void write(long epoch) throws IOException {
    if (epoch < 0) {
      throw new IllegalArgumentException("a leader epoch cannot be negative: " + epoch);
    }
    AtomicFiles.replace(file, (epoch + "\n").getBytes(StandardCharsets.US_ASCII));
  }

  private CorruptEpochFileException corrupt(String content) {
    return new CorruptEpochFileException("the leader epoch file " + file + " holds " + content + ", not an epoch:"
        + " this node cannot tell a stale control plane from the leader, so the agent does not start. Write the"
        + " current epoch of the control planes' lease into it as a decimal number (or remove it to accept any"
        + " control plane again, see the README), then start the agent");
  }

  /** The file exists and does not hold an epoch. */
  public static final class CorruptEpochFileException extends IOException {
    CorruptEpochFileException(String message) {
      super(message);
    }
  }
}
