package io.mpqemu.controlplane.cli;

import io.mpqemu.grpc.ConsoleCall;
import io.mpqemu.v1.ConsoleAttachOptions;
import io.mpqemu.v1.ConsoleInput;
import io.mpqemu.v1.ConsoleNotice;
import io.mpqemu.v1.ConsoleOpen;
import io.mpqemu.v1.ConsoleOutput;
import java.io.FileDescriptor;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.util.Arrays;

/**
 * {@code console NAME --attach}: an interactive session on a VM's serial console. On a terminal it runs
 * raw (every key to the guest) until Ctrl-] ; otherwise it sends standard input as it comes and leaves at
 * its end. Leaving detaches: the VM goes on.
 */
final class ConsoleAttach {

  /** Ctrl-], as virsh and telnet use it. */
  static final int ESCAPE = 0x1d;

  private final ControlPlaneConnection server;
  private final PrintStream err;
  private final OutputStream out = new FileOutputStream(FileDescriptor.out);
  private volatile boolean raw;

  ConsoleAttach(ControlPlaneConnection server, PrintStream err) {
    this.server = server;
    this.err = err;
  }

  /** Runs the session; returns when it ended OK, throws as a call does otherwise. */
  void run(String vm, ConsoleAttachOptions options, InputStream in) throws IOException {
    ConsoleOpen open = ConsoleOpen.newBuilder().setVm(Formats.vmRef(vm)).setOptions(options).build();
    boolean terminal = RawTerminal.available();
    ConsoleCall<ConsoleInput> call = server.attachConsole(open, this::received);
    if (terminal) {
      say("Connected to the console of VM " + vm + "; escape character is ^] (Ctrl + ])");
    }
    try (RawTerminal ignored = terminal ? RawTerminal.enter() : null) {
      raw = terminal;
      Thread input = new Thread(() -> pump(in, call, terminal), "console-input");
      input.setDaemon(true); // a read of the terminal cannot be interrupted: the JVM leaves it behind
      input.start();
      server.awaitEnd(call);
    } finally {
      raw = false;
    }
    if (terminal) {
      say("Disconnected from the console of VM " + vm + "; the VM goes on");
    }
  }

  /** Standard input to the guest, until Ctrl-] (on a terminal) or its end: then the session is left. */
  private void pump(InputStream in, ConsoleCall<ConsoleInput> call, boolean terminal) {
    byte[] buf = new byte[4096];
    try {
      int n;
      while ((n = in.read(buf)) > 0) {
        int escape = terminal ? indexOf(buf, n, ESCAPE) : -1;
        int send = escape < 0 ? n : escape;
        if (send > 0) {
          call.send(Arrays.copyOf(buf, send));
        }
        if (escape >= 0) {
          break;
        }
      }
    } catch (IOException e) {
      // the terminal went away (a hangup): leave
    }
    call.close();
  }

  private void received(ConsoleOutput output) {
    if (output.hasNotice()) {
      ConsoleNotice n = output.getNotice();
      if (n.getKind() != ConsoleNotice.Kind.ATTACHED || !raw) {
        say("[" + n.getMessage() + "]");
      }
      return;
    }
    try {
      synchronized (out) {
        out.write(output.getData().toByteArray());
        out.flush();
      }
    } catch (IOException e) {
      // nobody reads the output any more: the session ends with the input
    }
  }

  /** One line on stderr, with a carriage return in raw mode (where a newline only moves down). */
  private void say(String line) {
    synchronized (out) {
      err.print((raw ? "\r\n" : "") + line + (raw ? "\r\n" : "\n"));
      err.flush();
    }
  }

  private static int indexOf(byte[] buf, int n, int b) {
    for (int i = 0; i < n; i++) {
      if (buf[i] == b) {
        return i;
      }
    }
    return -1;
  }
}
