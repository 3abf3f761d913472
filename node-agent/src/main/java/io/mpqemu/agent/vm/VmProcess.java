package io.mpqemu.agent.vm;

import io.mpqemu.agent.process.ExitStatus;
import io.mpqemu.agent.process.RunningProcess;
import io.mpqemu.v1.ProcessRole;
import io.mpqemu.v1.ProcessStatus;
import io.vertx.core.Future;
import io.vertx.core.Promise;

/** One QEMU process of a VM: the main QEMU or a device process. Event loop only. */
final class VmProcess {

  private final String name;
  private final ProcessRole role;
  private final RunningProcess process;
  private final long uid;
  private final Promise<Void> exited = Promise.promise();
  private ExitStatus exit;

  /** @param uid what it runs as: 0 unconfined */
  VmProcess(String name, ProcessRole role, RunningProcess process, long uid) {
    this.name = name;
    this.role = role;
    this.process = process;
    this.uid = uid;
  }

  long uid() {
    return uid;
  }

  String name() {
    return name;
  }

  long pid() {
    return process.pid();
  }

  RunningProcess process() {
    return process;
  }

  boolean isMain() {
    return role == ProcessRole.PROCESS_ROLE_MAIN;
  }

  /** A NIC's device process. */
  boolean isNic() {
    return role == ProcessRole.PROCESS_ROLE_NIC;
  }

  /** "main QEMU" or "device lsi0 process", as messages name it. */
  String title() {
    return isMain() ? "main QEMU" : (isNic() ? "NIC " : "device ") + name + " process";
  }

  boolean hasExited() {
    return exit != null;
  }

  /** Records how the process ended; {@link #exitSeen} then releases whoever waits for it. */
  void exitedWith(ExitStatus status) {
    this.exit = status;
  }

  void exitSeen() {
    exited.tryComplete();
  }

  /** Completes once the exit was recorded and reported. */
  Future<Void> exited() {
    return exited.future();
  }

  void kill() {
    process.kill();
  }

  ProcessStatus status() {
    return Protos.processStatus(name, role, process.pid(), process.startedAt(), exit).toBuilder().setUid((int) uid).build();
  }
}
