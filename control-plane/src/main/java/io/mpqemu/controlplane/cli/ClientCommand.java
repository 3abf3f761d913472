package io.mpqemu.controlplane.cli;

import io.mpqemu.grpc.GrpcCallException;
import io.vertx.grpc.common.GrpcStatus;
import java.io.PrintWriter;
import java.util.concurrent.Callable;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * A command that talks to the control plane: connects, runs, and turns what went wrong into the
 * exit code and the one line on stderr that {@link ExitCodes} promise.
 */
abstract class ClientCommand implements Callable<Integer> {

  @Spec
  CommandSpec spec;

  @Option(names = {"-h", "--help"}, usageHelp = true, description = "Show this help, with the exit codes.")
  boolean help;

  /** A TLS server closes at once on a client without the right certificate: say so. */
  private static String tlsHint(ClientOptions options) {
    return options.tlsGiven()
        ? " If it runs in a fleet, it may have refused this certificate: its log says why (a client or viewer certificate of its CA is needed)."
        : " If it runs in a fleet (--cluster), it needs --tls-ca, --tls-cert and --tls-key (a client or viewer certificate).";
  }

  /** Does the work; output goes to {@code out}. */
  abstract void run(ControlPlaneConnection server, ClientOptions options, PrintWriter out) throws Exception;

  @Override
  public final Integer call() throws Exception {
    ClientOptions options = ClientOptions.of(spec);
    PrintWriter out = spec.commandLine().getOut();
    PrintWriter err = spec.commandLine().getErr();
    try (ControlPlaneConnection server = new ControlPlaneConnection(options.address(), options.tls())) {
      run(server, options, out);
      return ExitCodes.OK;
    } catch (UsageException e) {
      err.println("error: " + e.getMessage());
      return ExitCodes.USAGE;
    } catch (GrpcCallException e) {
      err.println("error: " + e.status().name() + ": " + e.serverMessage());
      return e.status() == GrpcStatus.NOT_FOUND ? ExitCodes.NOT_FOUND : ExitCodes.REFUSED;
    } catch (UnreachableException e) {
      err.println("error: cannot reach the control plane at " + options.server() + " (" + e.getMessage()
          + "); is `control-plane serve` running? Set --server to its address."
          + (options.server().startsWith("tcp:") ? tlsHint(options) : ""));
      return ExitCodes.UNREACHABLE;
    } finally {
      out.flush();
      err.flush();
    }
  }
}
