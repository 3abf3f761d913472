package io.mpqemu.agent.bench;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;

/**
 * Polls a console log file every 2 ms until it holds a text, and records when it first did. Both
 * launchers use this same watcher, started just before their launch, so the polling costs them the
 * same.
 */
final class ConsoleWatch implements AutoCloseable {

  static final long POLL_MILLIS = 2;

  private final Path file;
  private final byte[] text;
  private final Thread thread;
  private volatile long seenAt = -1;
  private volatile boolean stopped;

  private ConsoleWatch(Path file, String text) {
    this.file = file;
    this.text = text.getBytes(StandardCharsets.US_ASCII);
    this.thread = new Thread(this::poll, "console-watch");
    this.thread.setDaemon(true);
  }

  static ConsoleWatch start(Path file, String text) {
    ConsoleWatch w = new ConsoleWatch(file, text);
    w.thread.start();
    return w;
  }

  private void poll() {
    while (!stopped) {
      if (holdsText()) {
        seenAt = System.nanoTime();
        return;
      }
      try {
        Thread.sleep(POLL_MILLIS);
      } catch (InterruptedException e) {
        return;
      }
    }
  }

  private boolean holdsText() {
    byte[] bytes;
    try {
      bytes = Files.readAllBytes(file);
    } catch (NoSuchFileException e) {
      return false;
    } catch (IOException e) {
      return false;
    }
    outer:
    for (int i = 0; i + text.length <= bytes.length; i++) {
      for (int j = 0; j < text.length; j++) {
        if (bytes[i + j] != text[j]) {
          continue outer;
        }
      }
      return true;
    }
    return false;
  }

  /** System.nanoTime() when the text was first seen; waits up to {@code millis} for it. */
  long awaitSeen(long millis) throws InterruptedException {
    thread.join(millis);
    if (seenAt < 0) {
      throw new AssertionError("the console " + file + " did not show '" + new String(text, StandardCharsets.US_ASCII)
          + "' within " + millis + " ms");
    }
    return seenAt;
  }

  @Override
  public void close() throws InterruptedException {
    stopped = true;
    thread.interrupt();
    thread.join();
  }
}
