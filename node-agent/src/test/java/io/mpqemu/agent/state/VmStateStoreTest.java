package io.mpqemu.agent.state;

import static org.assertj.core.api.Assertions.assertThat;

import io.mpqemu.v1.Disk;
import io.mpqemu.v1.Phase;
import io.mpqemu.v1.ProxiedDevice;
import io.mpqemu.v1.RestartPolicy;
import io.mpqemu.v1.VmSpec;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

@DisplayName("VM state directories")
class VmStateStoreTest {

  @TempDir
  Path root;

  @Test
  @DisplayName("a record survives a write and a read exactly, in a 0700 directory, with no temporary file left")
  void roundTrip() throws Exception {
    VmStateStore store = new VmStateStore(root);
    store.init();
    VmPaths paths = store.paths("vm-1");
    store.createVmDir(paths);
    VmSpec spec = VmSpec.newBuilder().setName("web").setMemoryMib(128).setRestartPolicy(RestartPolicy.ON_FAILURE)
        .putLabels("tier", "front")
        .addDevices(ProxiedDevice.newBuilder().setId("lsi0").setDriver("lsi53c895a")
            .addDisks(Disk.newBuilder().setId("d").setImage("a/b.img").setScsiId(3).setReadOnly(true)))
        .build();
    VmRecord record = new VmRecord("vm-1", spec, 7, Phase.PHASE_RUNNING, "Running", "", 12, true, "kvm",
        Instant.parse("2026-11-25T10:00:00.123456789Z"), Instant.parse("2026-11-25T10:00:20Z"),
        List.of(new ProcessRecord("lsi0", 100, Instant.parse("2026-11-25T09:59:59.99Z"), 2_000_000_002L),
            new ProcessRecord("main", 101, Instant.parse("2026-11-25T10:00:00Z"), 2_000_000_001L)),
        2_000_000_001L, 17);

    store.write(paths, record);
    store.write(paths, record);

    assertThat(store.read(paths)).contains(record);
    assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(paths.dir()))).isEqualTo("rwx------");
    try (var files = Files.list(paths.dir())) {
      assertThat(files.map(p -> p.getFileName().toString())).containsExactly("vm.json");
    }
    assertThat(store.list()).containsExactly(paths);
  }

  @Test
  @DisplayName("delete removes the directory and all it holds; reading a missing VM is empty")
  void delete() throws Exception {
    VmStateStore store = new VmStateStore(root);
    store.init();
    VmPaths paths = store.paths("vm-2");
    store.createVmDir(paths);
    Files.writeString(paths.consoleLog(), "x");

    store.delete(paths);

    assertThat(paths.dir()).doesNotExist();
    assertThat(store.read(paths)).isEmpty();
    assertThat(store.list()).isEmpty();
  }
}
