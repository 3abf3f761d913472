package io.mpqemu.spec;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.mpqemu.v1.Disk;
import io.mpqemu.v1.ProxiedDevice;
import io.mpqemu.v1.VmSpec;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

class ReadyPatternTest {

  @Test
  @DisplayName("a pattern is searched within a line: a shell prompt, a login line, an anchored word")
  void findsWithinALine() {
    assertThat(ReadyPattern.compile("root@[a-z-]+:~#").foundIn("\u001b[0mroot@mpqemu-guest:~# ")).isTrue();
    assertThat(ReadyPattern.compile("login:").foundIn("Debian GNU/Linux 12 guest ttyS0 login: ")).isTrue();
    assertThat(ReadyPattern.compile("^ready$").foundIn("not ready")).isFalse();
    assertThat(ReadyPattern.compile("^ready$").foundIn("ready")).isTrue();
  }

  @Test
  @DisplayName("bad patterns are refused naming the field and what to fix")
  void refusals() {
    assertThatThrownBy(() -> ReadyPattern.validate("a".repeat(257))).isInstanceOf(InvalidSpecException.class)
        .hasMessageContaining("ready_pattern is 257 characters long: keep it to 256");
    assertThatThrownBy(() -> ReadyPattern.validate("login:\n")).hasMessageContaining("control character at position 6");
    assertThatThrownBy(() -> ReadyPattern.validate("(a)\\1")).hasMessageContaining("back-reference");
    assertThatThrownBy(() -> ReadyPattern.validate("(?<x>a)\\k<x>")).hasMessageContaining("back-reference");
    assertThatThrownBy(() -> ReadyPattern.validate("root@(")).hasMessageContaining("not a valid regular expression")
        .hasMessageContaining("\"root@(\"");
    ReadyPattern.validate("");
  }

  @Test
  @DisplayName("SpecValidator checks ready_pattern with the rest of the spec")
  void partOfTheSpec() {
    VmSpec spec = VmSpec.newBuilder().setName("web").setMemoryMib(64).setReadyPattern("[")
        .addDevices(ProxiedDevice.newBuilder().setId("d0").setDriver("virtio-blk-pci")
            .addDisks(Disk.newBuilder().setId("root").setImage("a.raw")))
        .build();
    assertThatThrownBy(() -> SpecValidator.validate(spec, NodeLimits.defaults())).isInstanceOf(InvalidSpecException.class)
        .satisfies(e -> assertThat(((InvalidSpecException) e).field()).isEqualTo("ready_pattern"));
  }

  @Test
  @Timeout(5)
  @DisplayName("a pattern that backtracks catastrophically gives up on the line instead of holding the agent")
  void boundedSearch() {
    ReadyPattern evil = ReadyPattern.compile("(a+)+$");
    assertThat(evil.foundIn("a".repeat(40) + "!")).isFalse();
    assertThat(evil.foundIn("aaaa")).isTrue();
  }
}
