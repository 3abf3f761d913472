package io.mpqemu.controlplane.store;

import static io.mpqemu.controlplane.store.StoreFixtures.event;
import static io.mpqemu.controlplane.store.StoreFixtures.oneEvent;
import static io.mpqemu.controlplane.store.StoreFixtures.vm;
import static org.assertj.core.api.Assertions.assertThat;

import io.mpqemu.testing.Await;
import io.mpqemu.v1.EventType;
import io.mpqemu.v1.VmEvent;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.stream.LongStream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/** Group commit and the read pool of {@link StoreExecutor}, on every {@link Store} engine. */
abstract class StoreExecutorContract extends StoreEngineTest {

  private static final int COMMITS = 200;

  private Vertx vertx;
  private final List<Integer> groupSizes = new CopyOnWriteArrayList<>();
  private StoreExecutor executor;

  @BeforeEach
  void startExecutor() {
    groupSizes.clear();
    vertx = Vertx.vertx();
    executor = new StoreExecutor(vertx, new GroupRecordingStore(store, groupSizes));
  }

  @AfterEach
  void closeExecutor() {
    executor.close();
    Await.result(vertx.close());
  }

  @Test
  @DisplayName("changes queued while the writer is busy commit as one group: seqs 1..N without a gap, futures"
      + " completing in queue order, and the one clashing change fails alone with CONFLICT")
  void groupCommit() throws Exception {
    Await.result(executor.commit(Change.builder().insert(vm("vm-taken", "taken")).build()));
    CountDownLatch release = new CountDownLatch(1);
    Future<Object> busy = executor.call(st -> await(release));
    Context context = vertx.getOrCreateContext();
    List<Integer> completed = Collections.synchronizedList(new ArrayList<>());
    List<Future<List<VmEvent>>> commits = Await.result(onContext(context, () -> {
      List<Future<List<VmEvent>>> futures = new ArrayList<>();
      for (int i = 0; i < COMMITS; i++) {
        Change change = i == COMMITS / 2
            ? Change.builder().insert(vm("vm-clash", "taken")).event(event("vm-clash", EventType.ACCEPTED)).build()
            : Change.builder().event(event("vm-" + (i % 7), EventType.RECONCILED)).build();
        int index = i;
        futures.add(executor.commit(change).onComplete(ar -> completed.add(index)));
      }
      return futures;
    }));
    release.countDown();
    Await.result(busy);
    Await.result(Future.join(commits).otherwiseEmpty());

    Throwable clash = Await.failure(commits.get(COMMITS / 2));
    assertThat(clash).isInstanceOfSatisfying(StoreException.class,
        e -> assertThat(e.kind()).isEqualTo(StoreException.Kind.CONFLICT)).hasMessageContaining("taken");
    List<Long> seqs = new ArrayList<>();
    for (int i = 0; i < COMMITS; i++) {
      if (i != COMMITS / 2) {
        seqs.addAll(Await.result(commits.get(i)).stream().map(VmEvent::getSeq).toList());
      }
    }
    assertThat(seqs).containsExactlyElementsOf(LongStream.rangeClosed(1, COMMITS - 1).boxed().toList());
    assertThat(completed).as("futures complete in queue order").isSorted().hasSize(COMMITS);
    assertThat(groupSizes).as("one group for the first commit, one for all that queued behind the busy writer")
        .containsExactly(1, COMMITS);
    assertThat(Await.result(executor.read(Store::lastSeq))).isEqualTo(COMMITS - 1);
  }

  @Test
  @DisplayName("reads run beside a writer that is busy, and see every commit whose future has completed")
  void readsDoNotWaitBehindCommits() throws Exception {
    Await.result(executor.commit(Change.builder().insert(vm("vm-1", "web")).event(event("vm-1", EventType.ACCEPTED))
        .build()));
    CountDownLatch release = new CountDownLatch(1);
    Future<Object> busy = executor.call(st -> await(release));
    Future<List<VmEvent>> queued = executor.commit(oneEvent("vm-1"));
    try {
      Optional<StoredVm> web = Await.result(executor.read(st -> st.vmByName("web")));
      assertThat(web).map(StoredVm::id).contains("vm-1");
      List<Future<Long>> reads = new ArrayList<>();
      for (int i = 0; i < 3 * StoreExecutor.READERS; i++) {
        reads.add(executor.read(Store::lastSeq));
      }
      assertThat(Await.result(Future.all(reads)).<Long>list()).containsOnly(1L);
      assertThat(queued.isComplete()).as("the commit waits for the writer").isFalse();
    } finally {
      release.countDown();
    }
    Await.result(busy);
    assertThat(Await.result(queued)).extracting(VmEvent::getSeq).containsExactly(2L);
    List<VmEvent> events = Await.result(executor.read(st -> st.events(0, "vm-1", 10)));
    assertThat(events).extracting(VmEvent::getSeq).containsExactly(1L, 2L);
  }

  private static Object await(CountDownLatch latch) {
    try {
      if (!latch.await(60, TimeUnit.SECONDS)) {
        throw new IllegalStateException("the test never released the writer");
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    return null;
  }

  @Test
  @DisplayName("a VM written through the executor (its spec printed on the caller's thread) reads back with that"
      + " spec, labels included, when inserted and when replaced in one group with others")
  void specsPrintedAheadAreTheSpecsStored() throws Exception {
    StoredVm first = vm("vm-ahead-1", "ahead-1", io.mpqemu.v1.Phase.PHASE_STOPPED, "", java.util.Map.of("tier", "db"));
    Await.result(executor.commit(Change.builder().insert(first).build()));
    StoredVm replaced = new StoredVm(first.id(), first.spec().toBuilder().putLabels("tier", "web").setMemoryMib(512)
        .build(), first.desiredState(), first.revision() + 1, first.status(), first.createdAt(), first.updatedAt(),
        first.owner());
    StoredVm second = vm("vm-ahead-2", "ahead-2");
    Await.result(Future.all(executor.commit(Change.builder().update(replaced).build()),
        executor.commit(Change.builder().insert(second).build())));

    assertThat(Await.result(executor.read(st -> st.vm(replaced.id()))).orElseThrow().spec())
        .isEqualTo(replaced.spec());
    assertThat(Await.result(executor.read(st -> st.vm(second.id()))).orElseThrow().spec()).isEqualTo(second.spec());
    List<StoredVm> web = Await.result(executor.read(st -> st.listVms(
        new VmFilter(io.mpqemu.v1.Phase.PHASE_UNSPECIFIED, "", java.util.Map.of("tier", "web")), "", 10)));
    assertThat(web).extracting(StoredVm::id).containsExactly(replaced.id());
  }

  private static <T> Future<T> onContext(Context context, java.util.function.Supplier<T> work) {
    Promise<T> promise = Promise.promise();
    context.runOnContext(v -> promise.complete(work.get()));
    return promise.future();
  }
}
