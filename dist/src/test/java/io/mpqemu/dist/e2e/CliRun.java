package io.mpqemu.dist.e2e;

import io.mpqemu.controlplane.cli.ControlPlaneCli;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Path;
import picocli.CommandLine;

/** One control-plane CLI command run in this JVM against a control plane's socket: its exit code and output. */
record CliRun(int code, String out, String err) {

  static CliRun of(Path controlPlaneSocket, String... args) {
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    CommandLine cl = ControlPlaneCli.commandLine();
    cl.setOut(new PrintWriter(out, true));
    cl.setErr(new PrintWriter(err, true));
    String[] all = new String[args.length + 2];
    all[0] = "--server";
    all[1] = "unix:" + controlPlaneSocket;
    System.arraycopy(args, 0, all, 2, args.length);
    return new CliRun(cl.execute(all), out.toString(), err.toString());
  }
}
