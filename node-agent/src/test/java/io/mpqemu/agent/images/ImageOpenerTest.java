package io.mpqemu.agent.images;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.mpqemu.agent.images.ImageException.Kind;
import io.mpqemu.agent.qemu.QemuImg;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** Hostile images against the real kernel and real qemu-img: each refused, never an outside file opened. */
class ImageOpenerTest {

  @TempDir
  Path tmp;
  Path root;
  Path outside;
  ImageOpener opener;

  @BeforeEach
  void setUp() throws IOException {
    root = Files.createDirectories(tmp.resolve("images"));
    outside = Files.writeString(tmp.resolve("secret"), "not for guests");
    opener = new ImageOpener(root);
  }

  @Test
  @DisplayName("a raw image under the root opens; the descriptor is that file and its size is read from it")
  void rawOpens() throws Exception {
    Path img = Files.write(root.resolve("disk.img"), new byte[4096]);
    try (OpenImage open = opener.open("d", "disk.img", "raw", false)) {
      assertThat(open.fd().describe()).isEqualTo(img.toString());
      assertThat(open.size()).isEqualTo(4096);
    }
  }

  @Test
  @DisplayName("a plain qcow2 image in a subdirectory opens")
  void qcow2Opens() throws Exception {
    Files.createDirectories(root.resolve("vms"));
    QemuImg.run("create", "-q", "-f", "qcow2", root.resolve("vms/q.qcow2").toString(), "1M");
    try (OpenImage open = opener.open("d", "vms/q.qcow2", "qcow2", true)) {
      assertThat(open.fd().describe()).isEqualTo(root.resolve("vms/q.qcow2").toString());
    }
  }

  @Test
  @DisplayName("qcow2 with an absolute backing file outside the root is refused as unsafe")
  void absoluteBacking() throws Exception {
    QemuImg.run("create", "-q", "-f", "qcow2", "-F", "raw", "-b", outside.toString(), root.resolve("evil.qcow2").toString(), "1M");
    assertRefused("evil.qcow2", "qcow2", Kind.UNSAFE, "names a backing file");
  }

  @Test
  @DisplayName("qcow2 with a ../ relative backing file is refused as unsafe")
  void relativeBacking() throws Exception {
    QemuImg.run("create", "-q", "-f", "qcow2", "-F", "raw", "-b", "../secret", root.resolve("evil.qcow2").toString(), "1M");
    assertRefused("evil.qcow2", "qcow2", Kind.UNSAFE, "names a backing file");
  }

  @Test
  @DisplayName("qcow2 whose backing file is a symbolic link out of the root is refused as unsafe")
  void backingThroughLink() throws Exception {
    Files.createSymbolicLink(root.resolve("base.raw"), outside);
    QemuImg.run("create", "-q", "-f", "qcow2", "-F", "raw", "-b", "base.raw", "-u", root.resolve("evil.qcow2").toString(), "1M");
    assertRefused("evil.qcow2", "qcow2", Kind.UNSAFE, "names a backing file");
  }

  @Test
  @DisplayName("qcow2 with an external data file is refused as unsafe")
  void externalDataFile() throws Exception {
    QemuImg.run("create", "-q", "-f", "qcow2", "-o", "data_file=" + tmp.resolve("data.raw"), root.resolve("evil.qcow2").toString(), "1M");
    assertRefused("evil.qcow2", "qcow2", Kind.UNSAFE, "external data file");
  }

  @Test
  @DisplayName("a raw disk holding a qcow2 header is opened as raw: QEMU is told raw and follows nothing")
  void qcow2HeaderInRawDisk() throws Exception {
    QemuImg.run("create", "-q", "-f", "qcow2", "-F", "raw", "-b", outside.toString(), root.resolve("guest-wrote.img").toString(), "1M");
    try (OpenImage open = opener.open("d", "guest-wrote.img", "raw", false)) {
      assertThat(open.fd().describe()).isEqualTo(root.resolve("guest-wrote.img").toString());
    }
  }

  @Test
  @Timeout(value = 10, unit = TimeUnit.SECONDS)
  @DisplayName("a FIFO is refused without blocking the caller")
  void fifo() throws Exception {
    new ProcessBuilder("mkfifo", root.resolve("pipe").toString()).start().waitFor();
    assertRefused("pipe", "raw", Kind.UNAVAILABLE, "not a regular file");
  }

  @Test
  @DisplayName("a directory and a device node are refused as not regular files")
  void directoryAndDevice() throws Exception {
    Files.createDirectories(root.resolve("dir"));
    assertRefused("dir", "raw", Kind.UNAVAILABLE, "not a regular file");
    assertThat(new ProcessBuilder("mknod", root.resolve("null").toString(), "c", "1", "3").start().waitFor()).isZero();
    assertRefused("null", "raw", Kind.UNAVAILABLE, "not a regular file");
  }

  @Test
  @DisplayName("a hard link to a file outside the root is refused")
  void hardLink() throws Exception {
    Files.createLink(root.resolve("linked.img"), outside);
    assertRefused("linked.img", "raw", Kind.FORBIDDEN, "2 hard links");
  }

  @Test
  @DisplayName("a symbolic link is refused wherever it stands: the image itself, or a directory on the way")
  void symbolicLinks() throws Exception {
    Files.createSymbolicLink(root.resolve("out.img"), outside);
    assertRefused("out.img", "raw", Kind.FORBIDDEN, "symbolic link");
    Files.write(root.resolve("inside.img"), new byte[512]);
    Files.createSymbolicLink(root.resolve("alias.img"), root.resolve("inside.img"));
    assertRefused("alias.img", "raw", Kind.FORBIDDEN, "symbolic link");
    Files.createDirectories(tmp.resolve("elsewhere"));
    Files.write(tmp.resolve("elsewhere/disk.img"), new byte[512]);
    Files.createSymbolicLink(root.resolve("sub"), tmp.resolve("elsewhere"));
    assertRefused("sub/disk.img", "raw", Kind.FORBIDDEN, "symbolic link");
  }

  @Test
  @DisplayName("an image root that cannot be opened is unavailable with an id; the root's path is in the agent's log only")
  void rootMissing() {
    Path gone = tmp.resolve("no-such-root");
    assertThatThrownBy(() -> new ImageOpener(gone).open("devices[0].disks[0].image", "disk.img", "raw", false))
        .isInstanceOfSatisfying(ImageException.class, e -> assertThat(e.kind()).isEqualTo(Kind.UNAVAILABLE))
        .hasMessageStartingWith("this node's image root cannot be opened: ")
        .hasMessageContaining("internal error (id ")
        .hasMessageNotContaining(gone.toString());
  }

  @Test
  @DisplayName("a missing image is unavailable, naming the disk")
  void missing() {
    assertRefused("nope.img", "raw", Kind.UNAVAILABLE, "does not exist under this node's image root");
  }

  @Test
  @DisplayName("an image swapped for a symbolic link in a loop is either the real file or refused, never the outside file")
  void swappedWhileOpening() throws Exception {
    Path img = root.resolve("swap.img");
    Path real = Files.write(root.resolve(".real"), new byte[512]);
    Path link = root.resolve(".link");
    Files.createSymbolicLink(link, outside);
    AtomicBoolean run = new AtomicBoolean(true);
    Thread swapper = new Thread(() -> {
      Path staged = root.resolve(".staged");
      while (run.get()) {
        try {
          Files.copy(real, staged, StandardCopyOption.REPLACE_EXISTING);
          Files.move(staged, img, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
          Files.copy(link, staged, StandardCopyOption.REPLACE_EXISTING, java.nio.file.LinkOption.NOFOLLOW_LINKS);
          Files.move(staged, img, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (IOException e) {
          // the next round tries again
        }
      }
    });
    Object outsideInode = Files.getAttribute(outside, "unix:ino");
    swapper.start();
    int opened = 0;
    int refused = 0;
    try {
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
      while ((opened < 100 || refused < 100) && System.nanoTime() < deadline) {
        try (OpenImage open = opener.open("d", "swap.img", "raw", true)) {
          // the real file, perhaps replaced since ("... (deleted)"); never the file outside the root
          assertThat(open.fd().describe()).startsWith(img.toString());
          assertThat(open.fd().stat().get("ino")).isNotEqualTo(outsideInode);
          opened++;
        } catch (ImageException e) {
          assertThat(e.kind()).as(e.getMessage()).isIn(Kind.FORBIDDEN, Kind.UNAVAILABLE);
          refused++;
        }
      }
    } finally {
      run.set(false);
      swapper.join();
    }
    assertThat(opened).as("opens that found the real file").isPositive();
    assertThat(refused).as("opens that found the link").isPositive();
  }

  private void assertRefused(String image, String format, Kind kind, String says) {
    assertThatThrownBy(() -> opener.open("devices[0].disks[0].image", image, format, false))
        .isInstanceOfSatisfying(ImageException.class, e -> assertThat(e.kind()).isEqualTo(kind))
        .hasMessageStartingWith("devices[0].disks[0].image: image '" + image + "'")
        .hasMessageContaining(says);
  }
}
