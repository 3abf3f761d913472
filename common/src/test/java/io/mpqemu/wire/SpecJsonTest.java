package io.mpqemu.wire;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.util.JsonFormat;
import io.mpqemu.v1.ProxiedDevice;
import io.mpqemu.v1.VmSpec;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

class SpecJsonTest {

  private static VmSpec spec(String name) {
    return VmSpec.newBuilder().setName(name).setMemoryMib(64).putLabels("team", "a")
        .addDevices(ProxiedDevice.newBuilder().setId("lsi0").setDriver("lsi53c895a")).build();
  }

  @Test
  @DisplayName("a spec prints as protobuf's compact JSON, and an equal spec built anew gets the same text")
  void printsAsJsonFormat() throws Exception {
    VmSpec web = spec("web");
    String printed = SpecJson.of(web);

    assertThat(printed).isEqualTo(JsonFormat.printer().omittingInsignificantWhitespace().print(web));
    VmSpec.Builder b = VmSpec.newBuilder();
    JsonFormat.parser().merge(printed, b);
    assertThat(b.build()).isEqualTo(web);
    assertThat(SpecJson.of(spec("web"))).isSameAs(printed);
    assertThat(SpecJson.of(web.toBuilder().setMemoryMib(128).build())).as("another spec, another text")
        .contains("\"memoryMib\":128");
  }

  @Test
  @DisplayName("it remembers no more than the specs printed last")
  void bounded() {
    for (int i = 0; i < SpecJson.KEPT + 50; i++) {
      SpecJson.of(spec("vm-" + i));
    }
    assertThat(SpecJson.remembered()).isEqualTo(SpecJson.KEPT);
  }
}
