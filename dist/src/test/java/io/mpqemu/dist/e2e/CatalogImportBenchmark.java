package io.mpqemu.dist.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.ByteString;
import io.mpqemu.v1.ImageUpload;
import io.mpqemu.v1.ImportImageRequest;
import io.mpqemu.v1.ImportImageResponse;
import io.mpqemu.v1.ImportTarget;
import io.mpqemu.v1.ListNodesRequest;
import io.mpqemu.v1.NodeState;
import io.mpqemu.v1.VmServiceGrpcClient;
import io.mpqemu.testing.Await;
import io.vertx.core.Future;
import io.vertx.grpc.client.GrpcClientRequest;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.time.LocalDate;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * Importing an image through the control plane into one node's catalog and into three, against plain
 * copies of the same file on the same disk made durable ({@code cp} then {@code sync FILE}, three at once
 * for three nodes): the agents check size and SHA-256 and fsync too, so both sides end with the bytes on
 * disk. The nodes are agents in this JVM, their catalogs on the same disk as the copies.
 *
 * <p>Run: {@code mvn -B -o verify -Pbench -pl test-fixtures,proto,common,node-agent,control-plane,dist
 * -Dtest=CatalogImportBenchmark}. Knobs: {@code -Dbench.imageMib=512}, {@code -Dbench.runs=3}.
 */
class CatalogImportBenchmark {

  private static final int MIB = Integer.getInteger("bench.imageMib", 512);
  private static final int RUNS = Integer.getInteger("bench.runs", 3);

  @Test
  void importAgainstCopy() throws Exception {
    List<String> report = new ArrayList<>();
    for (int nodes : new int[] {1, 3}) {
      try (Fleet fleet = new Fleet()) {
        for (int i = 0; i < nodes; i++) {
          fleet.startAgent("node-" + i, Map.of());
        }
        fleet.startControlPlane();
        Await.atMost(Duration.ofSeconds(60)).every(Duration.ofMillis(100)).until(
            () -> fleet.call(VmServiceGrpcClient.ListNodes, ListNodesRequest.getDefaultInstance()).getNodesList().stream()
                .filter(n -> n.getState() == NodeState.NODE_STATE_READY).count(), n -> n == nodes, n -> "READY: " + n);
        Path file = fleet.root.resolve("image.raw");
        writeRandom(file, MIB);
        String sha256 = sha256(file);
        List<Double> imports = new ArrayList<>();
        List<Double> copies = new ArrayList<>();
        for (int run = 0; run < RUNS; run++) {
          imports.add(timeImport(fleet, file, sha256, "img" + run));
          copies.add(timeCopies(file, fleet.root.resolve("copies-" + run), nodes));
        }
        double imp = median(imports);
        double copy = median(copies);
        report.add(String.format(Locale.ROOT, "%d node(s), %d MiB: import %.2f s (%.0f MiB/s per node), plain copies"
            + " %.2f s (%.0f MiB/s each): copy / import = %.2fx", nodes, MIB, imp, MIB / imp, copy, MIB / copy, copy / imp));
      }
    }
    report.add(0, "catalog import, " + LocalDate.now() + ", " + Runtime.getRuntime().availableProcessors() + " CPUs,"
        + " median of " + RUNS);
    report.forEach(System.out::println);
    Files.write(Path.of("target/bench-catalog-import.txt"), report);
  }

  private static double timeImport(Fleet fleet, Path file, String sha256, String name) throws Exception {
    long size = Files.size(file);
    ImportTarget target = ImportTarget.newBuilder().setUpload(ImageUpload.newBuilder().setName(name).setFormat("raw")
        .setSha256(sha256).setSizeBytes(size)).build();
    long t0 = System.nanoTime();
    GrpcClientRequest<ImportImageRequest, ImportImageResponse> req = Fleet.await(
        fleet.grpcClient().request(fleet.address(), VmServiceGrpcClient.ImportImage));
    Future<ImportImageResponse> answer = req.response().compose(r -> r.last());
    req.write(ImportImageRequest.newBuilder().setTarget(target).build());
    try (InputStream in = Files.newInputStream(file)) {
      byte[] buf = new byte[1 << 20];
      int n;
      while ((n = in.readNBytes(buf, 0, buf.length)) > 0) {
        Fleet.await(req.write(ImportImageRequest.newBuilder().setData(ByteString.copyFrom(buf, 0, n)).build()));
      }
    }
    req.end();
    ImportImageResponse done = Fleet.await(answer);
    double seconds = (System.nanoTime() - t0) / 1e9;
    assertThat(done.getResultsList()).allSatisfy(r -> assertThat(r.getStatus()).as(r.getMessage()).isEqualTo("OK"));
    return seconds;
  }

  /** {@code copies} plain copies of {@code file} at once, each made durable. */
  private static double timeCopies(Path file, Path dir, int copies) throws Exception {
    Files.createDirectories(dir);
    long t0 = System.nanoTime();
    List<Process> running = new ArrayList<>();
    for (int i = 0; i < copies; i++) {
      Path to = dir.resolve("copy-" + i);
      running.add(new ProcessBuilder("sh", "-c", "cp \"$0\" \"$1\" && sync \"$1\"", file.toString(), to.toString())
          .inheritIO().start());
    }
    for (Process p : running) {
      assertThat(p.waitFor(10, TimeUnit.MINUTES)).isTrue();
      assertThat(p.exitValue()).isZero();
    }
    return (System.nanoTime() - t0) / 1e9;
  }

  private static void writeRandom(Path file, int mib) throws Exception {
    Random random = new Random(42);
    byte[] buf = new byte[1 << 20];
    try (var out = Files.newOutputStream(file)) {
      for (int i = 0; i < mib; i++) {
        random.nextBytes(buf);
        out.write(buf);
      }
    }
  }

  private static String sha256(Path file) throws Exception {
    MessageDigest md = MessageDigest.getInstance("SHA-256");
    try (InputStream in = Files.newInputStream(file)) {
      byte[] buf = new byte[1 << 20];
      int n;
      while ((n = in.read(buf)) > 0) {
        md.update(buf, 0, n);
      }
    }
    return HexFormat.of().formatHex(md.digest());
  }

  private static double median(List<Double> xs) {
    List<Double> s = xs.stream().sorted().toList();
    return s.size() % 2 == 1 ? s.get(s.size() / 2) : (s.get(s.size() / 2 - 1) + s.get(s.size() / 2)) / 2;
  }
}
