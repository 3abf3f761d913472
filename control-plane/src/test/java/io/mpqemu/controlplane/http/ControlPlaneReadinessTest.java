package io.mpqemu.controlplane.http;

import static org.assertj.core.api.Assertions.assertThat;

import io.mpqemu.controlplane.store.SqliteStore;
import io.mpqemu.controlplane.store.Store;
import io.mpqemu.controlplane.store.StoreExecutor;
import io.mpqemu.http.Check;
import io.mpqemu.testing.Await;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Proxy;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/** Readiness against a real SQLite store that stops answering. */
class ControlPlaneReadinessTest {

  @Test
  @DisplayName("a stuck store fails /readyz, and repeated checks queue one read behind it, not one each")
  void stuckStoreGetsOneProbe() throws Exception {
    Path dir = Files.createTempDirectory(Path.of("/tmp"), "mpqemu-ready-");
    Vertx vertx = Vertx.vertx();
    AtomicInteger reads = new AtomicInteger();
    Store real = SqliteStore.open(dir.resolve("cp.db"));
    Store counting = (Store) Proxy.newProxyInstance(Store.class.getClassLoader(), new Class<?>[] {Store.class},
        (proxy, method, args) -> {
          if (method.getName().equals("lastSeq")) {
            reads.incrementAndGet();
          }
          try {
            return method.invoke(real, args);
          } catch (InvocationTargetException e) {
            throw e.getCause();
          }
        });
    StoreExecutor store = new StoreExecutor(vertx, counting);
    try {
      ControlPlaneReadiness readiness = new ControlPlaneReadiness(store, Future.succeededFuture(), () -> true,
          io.mpqemu.controlplane.leadership.Leadership.SOLE);
      assertThat(storeCheck(readiness).ok()).isTrue();
      assertThat(reads).hasValue(1);

      CountDownLatch release = new CountDownLatch(1);
      store.call(st -> {
        try {
          release.await(60, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
        return null;
      });
      for (int i = 0; i < 3; i++) {
        Check stuck = storeCheck(readiness);
        assertThat(stuck.ok()).isFalse();
        assertThat(stuck.detail()).contains("does not answer");
      }
      release.countDown();
      // the one queued read completes; then checks pass again
      Await.atMost(Duration.ofSeconds(10)).poll(readiness::probesInFlight, inFlight -> inFlight == 0);
      assertThat(storeCheck(readiness).ok()).isTrue();
      assertThat(reads).hasValue(3);
    } finally {
      store.close();
      Await.result(vertx.close());
      try (Stream<Path> files = Files.walk(dir)) {
        files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
      }
    }
  }

  private static Check storeCheck(ControlPlaneReadiness readiness) throws Exception {
    List<Check> checks = Await.result(readiness.get());
    return checks.stream().filter(c -> c.name().equals("store")).findFirst().orElseThrow();
  }
}
