package io.mpqemu.agent.vm;

import io.mpqemu.v1.Disk;
import io.mpqemu.v1.ProxiedDevice;
import io.mpqemu.v1.VmSpec;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Turns the image paths of a spec into files under the node's image root. The validator has already
 * refused absolute paths and ".."; this also refuses a symbolic link that leads out of the root, and
 * hands QEMU the real path it checked. Blocking.
 */
public final class ImageResolver {

  private final Path root;

  public ImageResolver(Path imageRoot) {
    this.root = imageRoot.toAbsolutePath().normalize();
  }

  public Path root() {
    return root;
  }

  /** Disk id to real path; a {@link VmException} names the first disk that cannot be used. */
  public Map<String, Path> resolve(VmSpec spec) throws IOException {
    Path realRoot;
    try {
      realRoot = root.toRealPath();
    } catch (IOException e) {
      throw new VmException(VmException.Kind.IMAGE_UNAVAILABLE, "this node's image root " + root + " does not exist");
    }
    Map<String, Path> images = new LinkedHashMap<>();
    for (int d = 0; d < spec.getDevicesCount(); d++) {
      ProxiedDevice device = spec.getDevices(d);
      for (int k = 0; k < device.getDisksCount(); k++) {
        Disk disk = device.getDisks(k);
        String field = "devices[" + d + "].disks[" + k + "].image";
        Path candidate = root.resolve(disk.getImage()).normalize();
        if (!candidate.startsWith(root)) {
          throw new VmException(VmException.Kind.INVALID_SPEC, field + ": '" + disk.getImage() + "' leads out of the image root");
        }
        if (!Files.exists(candidate)) {
          throw new VmException(VmException.Kind.IMAGE_UNAVAILABLE,
              field + ": image '" + disk.getImage() + "' does not exist under this node's image root");
        }
        Path real = candidate.toRealPath();
        if (!real.startsWith(realRoot)) {
          throw new VmException(VmException.Kind.IMAGE_FORBIDDEN,
              field + ": image '" + disk.getImage() + "' is a link that leads out of the image root");
        }
        if (!Files.isRegularFile(real)) {
          throw new VmException(VmException.Kind.IMAGE_UNAVAILABLE, field + ": image '" + disk.getImage() + "' is not a regular file");
        }
        if (!Files.isReadable(real) || !disk.getReadOnly() && !Files.isWritable(real)) {
          throw new VmException(VmException.Kind.IMAGE_FORBIDDEN, field + ": image '" + disk.getImage() + "' is not "
              + (disk.getReadOnly() ? "readable" : "readable and writable") + " by the agent");
        }
        images.put(disk.getId(), real);
      }
    }
    return images;
  }
}
