package io.mpqemu.agent.confine;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class UidAllocatorTest {

  private static final UidRange RANGE = new UidRange(3_000_000_000L, 40);

  @Test
  void eachVmGetsABlockOfItsOwnAndKeepsItUntilReleased() {
    UidAllocator a = new UidAllocator(RANGE, 10, Set.of());
    UidBlock first = a.allocate("vm-a").orElseThrow();
    UidBlock second = a.allocate("vm-b").orElseThrow();
    assertThat(first.first()).isEqualTo(3_000_000_000L);
    assertThat(second.first()).isEqualTo(3_000_000_010L);
    assertThat(a.allocate("vm-a")).contains(first);
    a.release("vm-a");
    assertThat(a.allocate("vm-c")).contains(first);
  }

  @Test
  void aBlockHoldingAUidALiveProcessRunsAsIsNeverHandedOut() {
    UidAllocator a = new UidAllocator(RANGE, 10, Set.of(3_000_000_003L));
    assertThat(a.allocate("vm-a").orElseThrow().first()).isEqualTo(3_000_000_010L);
  }

  @Test
  void theRangeRunsOut() {
    UidAllocator a = new UidAllocator(RANGE, 20, Set.of());
    assertThat(a.allocate("vm-a")).isPresent();
    assertThat(a.allocate("vm-b")).isPresent();
    assertThat(a.allocate("vm-c")).isEmpty();
  }

  @Test
  void aRecordedBlockIsTakenOverOnlyInsideTheRangeAndOverlappingNoOtherVm() {
    UidAllocator a = new UidAllocator(RANGE, 10, Set.of());
    assertThat(a.reserve("vm-a", new UidBlock(3_000_000_005L, 10))).isTrue();
    assertThat(a.reserve("vm-forged", new UidBlock(3_000_000_010L, 10))).as("overlaps vm-a").isFalse();
    assertThat(a.reserve("vm-out", new UidBlock(2_999_999_999L, 10))).as("starts below the range").isFalse();
    assertThat(a.reserve("vm-out", new UidBlock(3_000_000_035L, 10))).as("ends above the range").isFalse();
    assertThat(a.allocate("vm-b").orElseThrow().first()).as("the first block clear of vm-a's").isEqualTo(3_000_000_020L);
  }

  @Test
  void rangesAreParsedAndCheckedAgainstTheHostsAccounts(@TempDir Path etc) throws Exception {
    assertThat(UidRange.parse("2000000000-2000065535")).isEqualTo(UidRange.DEFAULT);
    assertThatThrownBy(() -> UidRange.parse("1000-2000")).hasMessageContaining("65536 or above");
    assertThatThrownBy(() -> UidRange.parse("2000000000")).hasMessageContaining("FIRST-LAST");
    Files.writeString(etc.resolve("passwd"), "root:x:0:0::/root:/bin/sh\nodd:x:2000000007:1::/:/bin/sh\n");
    Files.writeString(etc.resolve("group"), "root:x:0:\n");
    Files.writeString(etc.resolve("subuid"), "alice:1999999990:100\n");
    assertThat(UidRange.DEFAULT.conflicts(etc)).containsExactly("passwd entry 'odd' (2000000007)",
        "subuid range of 'alice' (1999999990-2000000089)");
    assertThat(new UidRange(3_000_000_000L, 10).conflicts(etc)).isEmpty();
  }
}
