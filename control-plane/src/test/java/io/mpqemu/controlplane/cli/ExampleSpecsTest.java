package io.mpqemu.controlplane.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatCode;

import io.mpqemu.spec.CloudInitSeed;
import io.mpqemu.spec.NodeLimits;
import io.mpqemu.spec.SpecValidator;
import io.mpqemu.v1.VmSpec;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/** The VM specs in deploy/examples are what users copy: each must read as `vm create -f` reads it, and be valid. */
class ExampleSpecsTest {

  private static VmSpec read(String name) {
    return SpecFile.read(Path.of("../deploy/examples", name)).getSpec();
  }

  @Test
  @DisplayName("every *-vm.json example is a valid spec")
  void examplesAreValid() throws Exception {
    List<Path> examples;
    try (var files = Files.list(Path.of("../deploy/examples"))) {
      examples = files.filter(p -> p.getFileName().toString().endsWith("-vm.json")).sorted().toList();
    }
    assertThat(examples).hasSizeGreaterThanOrEqualTo(3);
    for (Path p : examples) {
      VmSpec spec = SpecFile.read(p).getSpec();
      assertThatCode(() -> SpecValidator.validate(spec, NodeLimits.defaults())).as(p.toString())
          .doesNotThrowAnyException();
    }
  }

  @Test
  @DisplayName("the cloud-init example's seed holds its user data and its own meta data after the defaults")
  void cloudInitExample() {
    VmSpec spec = read("cloud-init-vm.json");
    var files = CloudInitSeed.files("vm-1", spec);
    assertThat(new String(files.get("user-data"), StandardCharsets.UTF_8)).startsWith("#cloud-config\nhostname: web-1\n");
    assertThat(new String(files.get("meta-data"), StandardCharsets.UTF_8))
        .isEqualTo("instance-id: vm-1\nlocal-hostname: web-1\nzone: a\n");
    assertThat(spec.getDevices(0).getDisks(0).getBase()).isEqualTo("debian-12");
  }
}
