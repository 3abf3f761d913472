package io.mpqemu.agent.vm;

import io.mpqemu.agent.qemu.Qmp;
import io.vertx.core.Future;
import java.nio.file.Path;

/** Opens a QMP session to a VM's main QEMU. */
@FunctionalInterface
public interface QmpConnector {
  Future<Qmp> connect(String name, Path socket);
}
