package io.mpqemu.agent.images;

import java.util.LinkedHashMap;
import java.util.Map;

/** The opened images of one VM's disks, by disk id; closing closes them all (QEMU holds its own copies). */
public final class OpenImages implements AutoCloseable {

  /** The keys of a directly booted VM's kernel and initrd (a disk id has no '.'). */
  public static final String KERNEL = "boot.kernel";
  public static final String INITRD = "boot.initrd";

  /** A disk's base, opened read-only, with its format. */
  public record OpenBase(OpenImage image, String format) {}

  private final Map<String, OpenImage> byDisk;
  private final Map<String, OpenBase> bases;

  OpenImages(Map<String, OpenImage> byDisk, Map<String, OpenBase> bases) {
    this.byDisk = new LinkedHashMap<>(byDisk);
    this.bases = new LinkedHashMap<>(bases);
  }

  /** None: a VM without disks, or a test that passes no images. */
  public static OpenImages none() {
    return new OpenImages(Map.of(), Map.of());
  }

  /** The base under disk {@code diskId}'s own image (its overlay), if the disk names one. */
  public java.util.Optional<OpenBase> baseOf(String diskId) {
    return java.util.Optional.ofNullable(bases.get(diskId));
  }

  /** The image of disk {@code diskId}; an IllegalArgumentException when the spec did not name it. */
  public OpenImage of(String diskId) {
    OpenImage image = byDisk.get(diskId);
    if (image == null) {
      throw new IllegalArgumentException("no image was opened for disk " + diskId);
    }
    return image;
  }

  /** The image opened under {@code key} ({@link #KERNEL}, {@link #INITRD}), if the spec named one. */
  public java.util.Optional<OpenImage> optional(String key) {
    return java.util.Optional.ofNullable(byDisk.get(key));
  }

  @Override
  public void close() {
    byDisk.values().forEach(OpenImage::close);
    bases.values().forEach(b -> b.image().close());
  }
}
