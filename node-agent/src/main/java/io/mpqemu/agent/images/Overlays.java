package io.mpqemu.agent.images;

import io.mpqemu.agent.images.BaseImages.BaseImage;
import io.mpqemu.agent.sys.HostTool;
import io.mpqemu.agent.vm.OwnDisks;
import io.mpqemu.v1.Disk;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;

/**
 * Each VM's own disks over catalog bases: {@code <root>/<vmId>/<diskId>.qcow2}, empty qcow2 overlays
 * that name no backing file (QEMU is given the base by node name), made on a VM's first launch and kept
 * across its stops and restarts until it is deleted (with everything else in the VM's directory: its
 * cloud-init seed). Blocking.
 */
public final class Overlays implements OwnDisks {

  private static final long GIB = 1L << 30;

  private final Path root;
  private final String qemuImg;

  /** @param qemuImg the qemu-img executable that makes overlays */
  public Overlays(Path root, String qemuImg) {
    this.root = root;
    this.qemuImg = qemuImg;
  }

  public Path dirOf(String vmId) {
    return root.resolve(vmId);
  }

  /**
   * The overlay of {@code disk} over {@code base}, made if the VM has none yet: as large as the base, or
   * {@code size_gib} when set (which may not be smaller).
   */
  public Path ensure(String vmId, Disk disk, BaseImage base, String field) throws IOException, ImageException {
    Path file = dirOf(vmId).resolve(disk.getId() + ".qcow2");
    if (Files.exists(file)) {
      return file;
    }
    long size = disk.getSizeGib() == 0 ? base.virtualSizeBytes() : Integer.toUnsignedLong(disk.getSizeGib()) * GIB;
    if (size < base.virtualSizeBytes()) {
      throw new ImageException(ImageException.Kind.UNAVAILABLE, field + ".size_gib " + disk.getSizeGib() + " GiB is"
          + " smaller than its base '" + base.name() + "' (" + base.virtualSizeBytes() + " bytes): a disk cannot shrink"
          + " its base");
    }
    Files.createDirectories(dirOf(vmId), PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
    Path temp = dirOf(vmId).resolve("." + disk.getId() + ".qcow2.new");
    try {
      HostTool.run(List.of(qemuImg, "create", "-q", "-f", "qcow2", temp.toString(), Long.toString(size)), 60);
    } catch (HostTool.ToolFailed e) {
      Files.deleteIfExists(temp);
      throw new ImageException(ImageException.Kind.UNAVAILABLE, field + ": the VM's disk over '" + base.name()
          + "' could not be made: " + e.getMessage());
    } catch (IOException e) {
      Files.deleteIfExists(temp);
      throw e;
    }
    Files.setPosixFilePermissions(temp, PosixFilePermissions.fromString("rw-------"));
    Files.move(temp, file, StandardCopyOption.ATOMIC_MOVE);
    return file;
  }

  /** Removes a VM's overlays: it was deleted, or its first launch failed. */
  @Override
  public void remove(String vmId) throws IOException {
    deleteFlat(dirOf(vmId));
  }

  /** Deletes {@code dir} and the files in it (it holds no directories), if it exists. */
  static void deleteFlat(Path dir) throws IOException {
    if (!Files.isDirectory(dir)) {
      return;
    }
    try (var files = Files.list(dir)) {
      for (Path f : files.toList()) {
        Files.deleteIfExists(f);
      }
    }
    Files.deleteIfExists(dir);
  }

  /** The VM ids that have overlays. */
  @Override
  public List<String> vmIds() throws IOException {
    if (!Files.isDirectory(root)) {
      return List.of();
    }
    try (var dirs = Files.list(root)) {
      return dirs.map(d -> d.getFileName().toString()).sorted().toList();
    }
  }
}
