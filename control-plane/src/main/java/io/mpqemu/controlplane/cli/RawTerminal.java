package io.mpqemu.controlplane.cli;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeUnit;

/**
 * The user's terminal in raw mode for an attached console, as {@code virsh console} puts it: every key
 * goes to the guest as typed (Ctrl-C included), nothing is echoed locally. {@link #restore} puts back the
 * settings found on entry; it runs on every exit the JVM can catch (the command's end, EOF, the stream's
 * end, and by a shutdown hook on SIGINT, SIGTERM and SIGHUP), and only once.
 */
final class RawTerminal implements AutoCloseable {

  private final String saved;
  private final Thread hook;
  private boolean restored;

  private RawTerminal(String saved) {
    this.saved = saved;
    this.hook = new Thread(this::restore, "restore-terminal");
    Runtime.getRuntime().addShutdownHook(hook);
  }

  /** Raw mode on the controlling terminal; fails when there is none (then the caller reads plain input). */
  static RawTerminal enter() throws IOException {
    String saved = stty("-g").strip();
    RawTerminal t = new RawTerminal(saved);
    try {
      stty("raw", "-echo");
    } catch (IOException e) {
      t.restore();
      throw e;
    }
    return t;
  }

  /** Whether this process talks to a terminal on both standard input and output. */
  static boolean available() {
    return System.console() != null;
  }

  synchronized void restore() {
    if (restored) {
      return;
    }
    restored = true;
    try {
      stty(saved);
    } catch (IOException e) {
      System.err.println("mpqemu: could not restore the terminal (" + e.getMessage() + "); run: stty sane");
    }
  }

  @Override
  public void close() {
    restore();
    try {
      Runtime.getRuntime().removeShutdownHook(hook);
    } catch (IllegalStateException e) {
      // the JVM is exiting: the hook runs (and finds the terminal restored)
    }
  }

  /** Runs stty on the controlling terminal; its output. */
  private static String stty(String... args) throws IOException {
    String[] argv = new String[args.length + 1];
    argv[0] = "stty";
    System.arraycopy(args, 0, argv, 1, args.length);
    Process p = new ProcessBuilder(argv).redirectInput(new File("/dev/tty")).redirectError(ProcessBuilder.Redirect.PIPE)
        .start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.US_ASCII);
    String err = new String(p.getErrorStream().readAllBytes(), StandardCharsets.US_ASCII);
    try {
      if (!p.waitFor(10, TimeUnit.SECONDS) || p.exitValue() != 0) {
        throw new IOException("stty " + String.join(" ", args) + " failed: " + err.strip());
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IOException("interrupted while running stty", e);
    }
    return out;
  }
}
