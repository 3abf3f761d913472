package io.mpqemu.agent.fence;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.vertx.core.Future;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

@DisplayName("The leader fence admits the newest leader's commands and refuses older ones")
class LeaderFenceTest {

  private final RecordingEpochStore store = new RecordingEpochStore();

  private static FenceException refusal(Future<Void> admitted) {
    assertThat(admitted.failed()).as("refused at once").isTrue();
    assertThat(admitted.cause()).isInstanceOf(FenceException.class);
    return (FenceException) admitted.cause();
  }

  @Test
  @DisplayName("a new epoch is admitted only once it is recorded, and then is the node's highest")
  void newEpochWaitsForItsRecord() {
    LeaderFence fence = new LeaderFence(0, store);

    Future<Void> admitted = fence.admit(5);

    assertThat(admitted.isComplete()).as("not before the record is durable").isFalse();
    assertThat(fence.highest()).isZero();
    store.completeNext();
    assertThat(admitted.succeeded()).isTrue();
    assertThat(fence.highest()).isEqualTo(5);
    store.assertRecorded(5L);
  }

  @Test
  @DisplayName("the remembered epoch is admitted at once, without a record")
  void sameEpochNeedsNoRecord() {
    LeaderFence fence = new LeaderFence(5, store);

    assertThat(fence.admit(5).succeeded()).isTrue();
    store.assertRecorded();
  }

  @Test
  @DisplayName("an older epoch is refused with a message that names both epochs and says a newer control plane leads")
  void olderEpochRefused() {
    LeaderFence fence = new LeaderFence(5, store);

    FenceException e = refusal(fence.admit(4));

    assertThat(e.kind()).isEqualTo(FenceException.Kind.STALE);
    assertThat(e.epoch()).isEqualTo(4);
    assertThat(e.getMessage()).isEqualTo("leader epoch 4 is older than epoch 5 this node has seen: a newer control"
        + " plane leads; this command is refused (fencing)");
    store.assertRecorded();
  }

  @Test
  @DisplayName("an older epoch is refused as soon as a newer one is admitted, even while the newer one is being recorded")
  void olderRefusedWhileNewerIsRecorded() {
    LeaderFence fence = new LeaderFence(3, store);
    Future<Void> newer = fence.admit(6);

    FenceException e = refusal(fence.admit(5));

    assertThat(e.getMessage()).contains("leader epoch 5 is older than epoch 6");
    assertThat(newer.isComplete()).isFalse();
    store.completeNext();
    assertThat(newer.succeeded()).isTrue();
  }

  @Test
  @DisplayName("rising epochs are recorded one at a time and in order, the later records covering the ones between")
  void risingEpochsRecordedInOrder() {
    LeaderFence fence = new LeaderFence(0, store);
    Future<Void> five = fence.admit(5);
    Future<Void> six = fence.admit(6);
    Future<Void> seven = fence.admit(7);

    store.assertRecorded(5L);
    store.completeNext();
    assertThat(five.succeeded()).as("5 runs first: it came first").isTrue();
    assertThat(six.isComplete()).as("6 waits for its own record").isFalse();
    store.assertRecorded(5L, 7L);
    store.completeNext();

    assertThat(six.succeeded()).isTrue();
    assertThat(seven.succeeded()).isTrue();
    store.assertRecorded(5L, 7L);
    store.assertNothingPending();
    assertThat(fence.highest()).isEqualTo(7);
  }

  @Test
  @DisplayName("a record that fails refuses its command as UNRECORDED, keeps the old epoch, and the next command tries again")
  void failedRecordIsRetried() {
    LeaderFence fence = new LeaderFence(2, store);
    Future<Void> first = fence.admit(3);
    store.failNext("No space left on device");

    FenceException e = (FenceException) first.cause();
    assertThat(e.kind()).isEqualTo(FenceException.Kind.UNRECORDED);
    assertThat(e.getMessage()).startsWith("leader epoch 3 is new to this node and could not be recorded")
        .doesNotContain("No space");
    assertThat(e.getCause()).hasMessage("No space left on device");
    assertThat(fence.highest()).isEqualTo(2);
    assertThat(fence.admit(2).failed()).as("still refused: 3 was seen, which only refuses more").isTrue();

    Future<Void> again = fence.admit(3);
    store.completeNext();
    assertThat(again.succeeded()).isTrue();
    assertThat(fence.highest()).isEqualTo(3);
    store.assertRecorded(3L, 3L);
  }

  @Test
  @DisplayName("epoch 0 is admitted, and neither raises nor records anything, while the node has seen no epoch")
  void zeroBeforeAnyEpoch() {
    LeaderFence fence = new LeaderFence(0, store);

    assertThat(fence.admit(0).succeeded()).isTrue();
    assertThat(fence.highest()).isZero();
    store.assertRecorded();
  }

  @Test
  @DisplayName("epoch 0 is refused once the node has seen an epoch: it may come from an old control plane come back")
  void zeroAfterAnEpoch() {
    LeaderFence fence = new LeaderFence(0, store);
    fence.admit(1);

    FenceException e = refusal(fence.admit(0));

    assertThat(e.kind()).isEqualTo(FenceException.Kind.NO_EPOCH);
    assertThat(e.getMessage()).startsWith("this command carries no leader epoch, and this node has seen epoch 1:")
        .contains("refused (fencing)").contains("--leader-epoch").contains("README");
    assertThat(refusal(new LeaderFence(9, store).admit(0)).kind()).isEqualTo(FenceException.Kind.NO_EPOCH);
  }

  @Test
  @DisplayName("a negative epoch (a uint64 above 2^63-1) is a caller's error, and a negative recorded epoch a bug")
  void negativeEpochs() {
    LeaderFence fence = new LeaderFence(0, store);

    assertThatThrownBy(() -> fence.admit(-1)).isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("18446744073709551615");
    assertThatThrownBy(() -> new LeaderFence(-1, store)).isInstanceOf(IllegalArgumentException.class);
    store.assertRecorded();
  }
}
