package io.mpqemu.agent.fence;

import static org.assertj.core.api.Assertions.assertThat;

import io.vertx.core.Future;
import io.vertx.core.Promise;
import java.util.ArrayList;
import java.util.List;

/** An epoch store that records what it is asked to record and answers only when the test says so. */
final class RecordingEpochStore implements EpochStore {

  private final List<Long> asked = new ArrayList<>();
  private final List<Promise<Void>> pending = new ArrayList<>();

  @Override
  public Future<Void> record(long epoch) {
    asked.add(epoch);
    Promise<Void> done = Promise.promise();
    pending.add(done);
    return done.future();
  }

  /** The oldest record still under way becomes durable. */
  void completeNext() {
    pending.remove(0).complete();
  }

  /** The oldest record still under way fails, as a full disk would make it. */
  void failNext(String why) {
    pending.remove(0).fail(new java.io.IOException(why));
  }

  void assertRecorded(Long... epochs) {
    assertThat(asked).as("epochs asked to be recorded, in order").containsExactly(epochs);
  }

  void assertNothingPending() {
    assertThat(pending).as("records under way").isEmpty();
  }
}
