package io.mpqemu.agent.http;

import io.mpqemu.agent.node.QemuProbe;
import io.mpqemu.http.Check;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;

/** The agent is ready when it started, QEMU was probed usable (multi-process support) and its state directory is writable. */
public final class AgentReadiness implements Supplier<Future<List<Check>>> {

  private final Vertx vertx;
  private final Supplier<QemuProbe.Result> probe;
  private final Path stateDir;
  private final BooleanSupplier started;

  public AgentReadiness(Vertx vertx, Supplier<QemuProbe.Result> probe, Path stateDir, BooleanSupplier started) {
    this.vertx = vertx;
    this.probe = probe;
    this.stateDir = stateDir;
    this.started = started;
  }

  @Override
  public Future<List<Check>> get() {
    QemuProbe.Result found = probe.get();
    Check qemu = found == null ? Check.failed("qemu", "not probed yet")
        : found.multiprocess() ? Check.passed("qemu", found.version() + ", " + found.accelerator().qemuName())
        : Check.failed("qemu", found.version() + " lacks multi-process support");
    Check start = started.getAsBoolean() ? Check.passed("started", "VMs adopted, gRPC serving")
        : Check.failed("started", "still starting");
    return vertx.executeBlocking(() -> Files.isDirectory(stateDir) && Files.isWritable(stateDir))
        .map(writable -> writable ? Check.passed("stateDir", stateDir + " is writable")
            : Check.failed("stateDir", stateDir + " is not a writable directory"))
        .map(dir -> List.of(start, qemu, dir));
  }
}
