package io.mpqemu.dist.scripts;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeFalse;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.nio.file.attribute.UserPrincipal;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * deploy/local-cluster.sh writes the cluster's private keys into its work dir, whose default path is
 * predictable: it must not use a directory someone else could have made or can read. The refusals
 * come before anything is created, so these tests never bring a cluster up.
 */
class LocalClusterScriptTest {

  private static final Path DEFAULT_DIR = Path.of("/tmp/mpqemu-local-cluster");
  private static final List<String> NAMESPACES = List.of("mpq-cp", "mpq-host1", "mpq-host2", "mpq-cp2", "mpq-db",
      "mpq-switch");
  private static final String REFUSED = "is not a directory of root's with mode 0700";

  private final Path script = ScriptProcesses.repoRoot().resolve("deploy/local-cluster.sh");
  private Path tmp;
  private boolean madeDefaultDir;

  @BeforeEach
  void setUp() throws IOException {
    assumeTrue("0".equals(run(List.of("id", "-u"), null).out.strip()), "needs root, as the script does");
    assumeFalse(NAMESPACES.stream().anyMatch(LocalClusterScriptTest::namespaceExists),
        "a local cluster is up on this machine: not ours to touch");
    tmp = Files.createTempDirectory("local-cluster-test");
  }

  @AfterEach
  void tearDown() throws IOException {
    for (String ns : NAMESPACES) { // only if a test made one: setUp saw none
      if (namespaceExists(ns)) {
        run(List.of("ip", "netns", "del", ns), null);
      }
    }
    if (madeDefaultDir) {
      ScriptProcesses.deleteTree(DEFAULT_DIR);
    }
    ScriptProcesses.deleteTree(tmp);
  }

  @Test
  void refusesADirectoryAnotherUserMade() throws IOException {
    Path dir = Files.createDirectory(tmp.resolve("cluster"));
    Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwx------"));
    Files.setOwner(dir, nobody());

    assertRefused(up(dir), dir);
  }

  @Test
  void refusesADirectoryOthersCanRead() throws IOException {
    Path dir = Files.createDirectory(tmp.resolve("cluster"));
    Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxr-xr-x"));

    assertRefused(up(dir), dir);
  }

  @Test
  void refusesALinkEvenToAPrivateDirectory() throws IOException {
    Path target = Files.createDirectory(tmp.resolve("target"));
    Files.setPosixFilePermissions(target, PosixFilePermissions.fromString("rwx------"));
    Path link = Files.createSymbolicLink(tmp.resolve("cluster"), target);

    assertRefused(up(link), target);
  }

  /** The attack of the issue: a local user creates the default path before root runs `up`. */
  @Test
  void refusesTheDefaultPathWhenSomeoneElseMadeIt() throws IOException {
    assumeFalse(Files.exists(DEFAULT_DIR, LinkOption.NOFOLLOW_LINKS), DEFAULT_DIR + " exists: not ours to touch");
    Files.createDirectory(DEFAULT_DIR);
    madeDefaultDir = true;
    Files.setPosixFilePermissions(DEFAULT_DIR, PosixFilePermissions.fromString("rwxrwxrwx"));
    Files.setOwner(DEFAULT_DIR, nobody());

    assertRefused(run(List.of(script.toString(), "up"), null), DEFAULT_DIR);
  }

  /** `down` trusts no marker in a directory that is not root's alone: it deletes and kills nothing there. */
  @Test
  void downLeavesAForeignDirectoryAlone() throws IOException {
    Path dir = Files.createDirectory(tmp.resolve("cluster"));
    Files.writeString(dir.resolve(".mpqemu-local-cluster"), "");
    Files.setOwner(dir, nobody());

    Result down = run(List.of(script.toString(), "down"), dir);

    assertThat(down.code).as(down.out).isZero();
    assertThat(down.out).contains("left alone");
    assertThat(dir.resolve(".mpqemu-local-cluster")).exists();
  }

  /**
   * The whole round, as a user runs it: `up` brings a control plane and two agent hosts up with a
   * confined VM on each; `down` leaves no process behind, QEMU included (a confined QEMU names no path
   * on its command line and runs in a network namespace of its own), no namespace and no directory.
   */
  @Test
  void upThenDownLeavesNothing() throws IOException {
    // short: the agents' QMP sockets live under it, and a UNIX socket path has at most 107 bytes
    Path dir = Path.of("/tmp", "mpqlc-" + Integer.toHexString(java.util.concurrent.ThreadLocalRandom.current()
        .nextInt(0x10000, 0xfffff)));
    String classpath = System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
    Result up = run(List.of(script.toString(), "up"), dir, java.util.Map.of("MPQEMU_LOCAL_CLASSPATH", classpath));
    try {
      assertThat(up.code).as(up.out).isZero();
      assertThat(up.out).contains("Hello from web-1, booted on").contains("Hello from web-2, booted on");
      assertThat(markedProcesses(dir)).as("QEMU processes of the cluster's agents").hasSizeGreaterThanOrEqualTo(4);
    } finally {
      Result down = run(List.of(script.toString(), "down"), dir);
      assertThat(down.code).as(down.out).isZero();
    }
    assertThat(markedProcesses(dir)).as("processes left by down").isEmpty();
    assertThat(NAMESPACES).noneMatch(LocalClusterScriptTest::namespaceExists);
    assertThat(dir).doesNotExist();
  }

  /**
   * The same with a highly available control plane: PostgreSQL (as the postgres user, TLS) and two
   * control planes on it, one leading; `down` also stops the database and removes its directory.
   */
  @Test
  void upHaThenDownLeavesNothing() throws IOException {
    Path dir = Path.of("/tmp", "mpqlc-" + Integer.toHexString(java.util.concurrent.ThreadLocalRandom.current()
        .nextInt(0x10000, 0xfffff)));
    Path pgdir = Path.of(dir + "-pg");
    String classpath = System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
    Result up = run(List.of(script.toString(), "up", "--ha"), dir, java.util.Map.of("MPQEMU_LOCAL_CLASSPATH", classpath));
    try {
      assertThat(up.code).as(up.out).isZero();
      assertThat(up.out).contains("Hello from web-1, booted on").contains("Hello from web-2, booted on");
      assertThat(up.out.lines().filter(l -> l.startsWith("cp-")).map(l -> l.split("\\s+")[0] + " " + l.split("\\s+")[1]))
          .as("the control planes as `status` lists them").containsExactly("cp-a leader", "cp-b standby");
      assertThat(processesNaming(pgdir)).as("PostgreSQL's processes").isNotEmpty();
      assertThat(Files.getOwner(pgdir).getName()).isEqualTo("postgres");
    } finally {
      Result down = run(List.of(script.toString(), "down"), dir);
      assertThat(down.code).as(down.out).isZero();
    }
    assertThat(markedProcesses(dir)).as("processes left by down").isEmpty();
    assertThat(processesNaming(pgdir)).as("PostgreSQL processes left by down").isEmpty();
    assertThat(NAMESPACES).noneMatch(LocalClusterScriptTest::namespaceExists);
    assertThat(dir).doesNotExist();
    assertThat(pgdir).doesNotExist();
  }

  /** Pids of processes whose command line names something under {@code dir}. */
  private static List<String> processesNaming(Path dir) throws IOException {
    return processesWhose("cmdline", dir + "/");
  }

  /** Pids of processes whose environment carries the marker of an agent under {@code dir}. */
  private static List<String> markedProcesses(Path dir) throws IOException {
    return processesWhose("environ", "MPQEMU_AGENT=" + dir + "/");
  }

  /** Pids of processes whose /proc/PID/{@code file} contains {@code text}. */
  private static List<String> processesWhose(String file, String text) throws IOException {
    List<String> found = new java.util.ArrayList<>();
    try (Stream<Path> procs = Files.list(Path.of("/proc"))) {
      for (Path p : procs.filter(x -> x.getFileName().toString().matches("\\d+")).toList()) {
        try {
          if (new String(Files.readAllBytes(p.resolve(file)), StandardCharsets.UTF_8).contains(text)) {
            found.add(p.getFileName().toString());
          }
        } catch (IOException gone) {
          // exited meanwhile
        }
      }
    }
    return found;
  }

  private Result up(Path dir) {
    return run(List.of(script.toString(), "up"), dir);
  }

  private static void assertRefused(Result up, Path dir) throws IOException {
    assertThat(up.code).as(up.out).isEqualTo(1);
    assertThat(up.out).contains(REFUSED);
    try (Stream<Path> files = Files.list(dir)) {
      assertThat(files).as("nothing written into " + dir).isEmpty();
    }
    assertThat(NAMESPACES).noneMatch(LocalClusterScriptTest::namespaceExists);
  }

  private static UserPrincipal nobody() throws IOException {
    return Path.of("/").getFileSystem().getUserPrincipalLookupService().lookupPrincipalByName("nobody");
  }

  private static boolean namespaceExists(String ns) {
    return Files.exists(Path.of("/var/run/netns", ns));
  }

  private record Result(int code, String out) {}

  /** Runs a command to its end (180 s at most), with MPQEMU_LOCAL_DIR set to {@code dir}, or unset. */
  private static Result run(List<String> command, Path dir) {
    return run(command, dir, java.util.Map.of());
  }

  /** The same with {@code env} added to the environment. */
  private static Result run(List<String> command, Path dir, java.util.Map<String, String> env) {
    try {
      ProcessBuilder pb = new ProcessBuilder(command).redirectErrorStream(true);
      pb.environment().remove("MPQEMU_LOCAL_DIR");
      pb.environment().putAll(env);
      if (dir != null) {
        pb.environment().put("MPQEMU_LOCAL_DIR", dir.toString());
      }
      Process p = pb.start();
      p.getOutputStream().close();
      byte[] out = p.getInputStream().readAllBytes();
      if (!p.waitFor(180, TimeUnit.SECONDS)) {
        p.destroyForcibly();
        throw new AssertionError(command + " did not finish in 180 s");
      }
      return new Result(p.exitValue(), new String(out, StandardCharsets.UTF_8));
    } catch (IOException e) {
      throw new AssertionError(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError(e);
    }
  }
}
