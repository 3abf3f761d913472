package io.mpqemu.agent.images;

import io.mpqemu.agent.qemu.QemuCommandLine;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * What a launch takes from the host: the opened images of one VM's disks, by disk id, and its NICs as this
 * node gives them; closing closes the images and the NICs' taps (QEMU holds its own copies; a tap nobody
 * holds goes away).
 */
public final class OpenImages implements AutoCloseable {

  /** The keys of a directly booted VM's kernel and initrd (a disk id has no '.'). */
  public static final String KERNEL = "boot.kernel";
  public static final String INITRD = "boot.initrd";

  /** A disk's base, opened read-only, with its format. */
  public record OpenBase(OpenImage image, String format) {}

  private final Map<String, OpenImage> byDisk;
  private final Map<String, OpenBase> bases;
  private final List<QemuCommandLine.Nic> nics;

  OpenImages(Map<String, OpenImage> byDisk, Map<String, OpenBase> bases, List<QemuCommandLine.Nic> nics) {
    this.byDisk = new LinkedHashMap<>(byDisk);
    this.bases = new LinkedHashMap<>(bases);
    this.nics = List.copyOf(nics);
  }

  /** None: a VM without disks, or a test that passes no images. */
  public static OpenImages none() {
    return new OpenImages(Map.of(), Map.of(), List.of());
  }

  /** The VM's NICs as this node gives them (network backends checked, MACs filled in), in the spec's order. */
  public List<QemuCommandLine.Nic> nics() {
    return nics;
  }

  /** The NICs that run in device processes of their own. */
  public List<QemuCommandLine.Nic> nicProcesses() {
    return nics.stream().filter(n -> !n.inMain()).toList();
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
    nics.forEach(QemuCommandLine.Nic::closeTap);
  }
}
