package io.mpqemu.spec;

import io.mpqemu.v1.Disk;
import java.util.regex.Pattern;

/**
 * Where a disk's data comes from: an image path under the node's image root, or a catalog image as the
 * base of the VM's own overlay. Exactly one of the two.
 */
public final class DiskSources {

  /** A catalog image's name, as the agent's catalog takes it. */
  public static final Pattern CATALOG_NAME = Pattern.compile("^[a-z0-9][a-z0-9._-]{0,62}$");
  public static final int MAX_SIZE_GIB = 16384;

  private DiskSources() {}

  /** The catalog images the disks of {@code spec} name as their bases. */
  public static java.util.Set<String> basesOf(io.mpqemu.v1.VmSpec spec) {
    java.util.Set<String> bases = new java.util.TreeSet<>();
    spec.getDevicesList().forEach(d -> d.getDisksList().forEach(disk -> {
      if (!disk.getBase().isEmpty()) {
        bases.add(disk.getBase());
      }
    }));
    return bases;
  }

  /** Checks the disk at {@code path} (e.g. {@code devices[0].disks[1]}). */
  static void validate(String path, Disk disk) {
    if (disk.getBase().isEmpty()) {
      SpecValidator.validateImage(path + ".image", disk.getImage());
      SpecValidator.validateFormat(path + ".format", disk.getFormat());
      if (disk.getSizeGib() != 0) {
        throw new InvalidSpecException(path + ".size_gib", path + ".size_gib sizes a disk made over a base: set base,"
            + " or leave size_gib out (an image disk has its image's size).");
      }
      return;
    }
    if (!disk.getImage().isEmpty()) {
      throw new InvalidSpecException(path + ".base", path + " names both an image and a base: a disk is either an"
          + " image of the node's image root or a VM's own disk over a catalog base, not both.");
    }
    if (!CATALOG_NAME.matcher(disk.getBase()).matches()) {
      throw new InvalidSpecException(path + ".base", path + ".base " + SpecValidator.quote(disk.getBase()) + " is not a"
          + " catalog name: use 1 to 63 lowercase letters, digits, '.', '_' and '-' (see ListImages).");
    }
    if (!disk.getFormat().isEmpty()) {
      throw new InvalidSpecException(path + ".format", path + ".format is set with a base: the VM's own disk is always a"
          + " qcow2 overlay, and the base keeps its catalog format; leave format out.");
    }
    if (disk.getReadOnly()) {
      throw new InvalidSpecException(path + ".read_only", path + ".read_only is set with a base: a disk made over a"
          + " base is the VM's own and writable (the base is never written); use an image disk to share one read-only.");
    }
    if (Integer.toUnsignedLong(disk.getSizeGib()) > MAX_SIZE_GIB) {
      throw new InvalidSpecException(path + ".size_gib", path + ".size_gib " + Integer.toUnsignedString(disk.getSizeGib())
          + " is over " + MAX_SIZE_GIB + " GiB.");
    }
  }
}
