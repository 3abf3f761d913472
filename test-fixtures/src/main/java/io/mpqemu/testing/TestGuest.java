package io.mpqemu.testing;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

/**
 * The real Debian guest of the tests: {@code deploy/build-guest.sh} builds it once into
 * {@code node-agent/target/guest} (the first module whose tests boot it), where every module's tests and
 * re-runs find it (a guest an older script built is built again). Its files: {@code vmlinuz},
 * {@code initrd.img}, {@code root.img} (ext4, 2 GiB sparse, labelled root; a root shell on ttyS0; cloud-init,
 * which reads a NoCloud seed when the VM has one), {@code VERSION}.
 */
public final class TestGuest {

  /** The shell prompt of the guest's serial autologin. */
  public static final String PROMPT = "root@mpqemu-guest:~#";
  /** The kernel command line it boots with (the agent adds what TCG needs). */
  public static final String CMDLINE = "console=ttyS0 root=LABEL=root rw";

  /** The first line of the guest's VERSION file as today's build-guest.sh writes it. */
  static final String VERSION =
      "mpqemu test guest 3: bookworm, serial autologin, cloud-init (NoCloud, ConfigDrive), DHCP on every NIC";

  private TestGuest() {}

  /** The directory holding the guest, built first if it is not there (about 2 minutes, as root). */
  public static synchronized Path ensureBuilt() throws IOException, InterruptedException {
    Path repo = repositoryRoot();
    Path guest = repo.resolve("node-agent/target/guest");
    if (Files.exists(guest.resolve("root.img")) && Files.exists(guest.resolve("vmlinuz"))
        && Files.exists(guest.resolve("initrd.img")) && Files.exists(guest.resolve("VERSION"))
        && Files.readAllLines(guest.resolve("VERSION")).get(0).equals(VERSION)) {
      return guest;
    }
    Process p = new ProcessBuilder(repo.resolve("deploy/build-guest.sh").toString(), guest.toString())
        .redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(p.waitFor(15, TimeUnit.MINUTES)).as("build-guest.sh finished").isTrue();
    assertThat(p.exitValue()).as(out).isZero();
    return guest;
  }

  /** Copies the guest's kernel and initrd into an image root, as {@code vmlinuz} and {@code initrd.img}. */
  public static void copyBootFiles(Path guest, Path imageRoot) throws IOException {
    for (String f : java.util.List.of("vmlinuz", "initrd.img")) {
      Files.copy(guest.resolve(f), imageRoot.resolve(f));
    }
  }

  /** A copy of the root image that stays sparse (about 850 MB of data in 2 GiB). */
  public static void copyRoot(Path guest, Path to) throws IOException, InterruptedException {
    Process p = new ProcessBuilder("cp", "--sparse=always", guest.resolve("root.img").toString(), to.toString())
        .inheritIO().start();
    assertThat(p.waitFor(5, TimeUnit.MINUTES)).isTrue();
    assertThat(p.exitValue()).isZero();
  }

  /** The repository's root: the module's working directory's parent, where deploy/ is. */
  private static Path repositoryRoot() {
    Path dir = Path.of("").toAbsolutePath();
    while (dir != null && !Files.isDirectory(dir.resolve("deploy"))) {
      dir = dir.getParent();
    }
    if (dir == null) {
      throw new IllegalStateException("no deploy/ above " + Path.of("").toAbsolutePath());
    }
    return dir;
  }
}
