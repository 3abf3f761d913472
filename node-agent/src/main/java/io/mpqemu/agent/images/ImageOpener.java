package io.mpqemu.agent.images;

import io.mpqemu.agent.net.NicPreparer;
import io.mpqemu.agent.net.NodeNetworks;
import io.mpqemu.agent.qemu.QemuCommandLine;
import io.mpqemu.agent.sys.Beneath;
import io.mpqemu.agent.sys.Fd;
import io.mpqemu.agent.sys.SysException;
import io.mpqemu.errors.InternalErrors;
import io.mpqemu.spec.CloudInitSeed;
import io.mpqemu.spec.SpecValidator;
import io.mpqemu.v1.Disk;
import io.mpqemu.v1.ProxiedDevice;
import io.mpqemu.v1.VmSpec;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Opens disk images beneath the node's image root: no symbolic link at any component, nothing but a
 * regular file with a single name, readable (and writable unless read-only) by the agent, and for
 * qcow2 a header that names no other file. Every check is made on the opened descriptor, which is
 * what QEMU then gets. Blocking: run it off the event loop.
 */
public final class ImageOpener {

  private static final Logger LOG = LoggerFactory.getLogger(ImageOpener.class);
  private static final int S_IFMT = 0170000;
  private static final int S_IFREG = 0100000;

  private final Path root;
  private final BaseImages catalog;
  private final Overlays overlays;
  private final CloudInitSeeds seeds;
  private final NicPreparer nics;

  /** An opener of image-root disks only (no disk may name a base, no VM have cloud_init), on the default network. */
  public ImageOpener(Path imageRoot) {
    this(imageRoot, BaseImages.none(), null, null, new NicPreparer(NodeNetworks.defaults()));
  }

  /**
   * @param catalog where bases are; @param overlays where the VMs' own disks over them go; @param seeds
   * who makes the VMs' cloud-init seeds; @param nics who checks the VMs' NICs against the node's networks
   */
  public ImageOpener(Path imageRoot, BaseImages catalog, Overlays overlays, CloudInitSeeds seeds, NicPreparer nics) {
    this.root = imageRoot.toAbsolutePath().normalize();
    this.catalog = catalog;
    this.overlays = overlays;
    this.seeds = seeds;
    this.nics = nics;
  }

  /**
   * Opens the image of every disk of {@code spec}, and its cloud-init seed (made here) as the disk
   * {@link CloudInitSeed#ID}; the first that cannot be used fails the whole
   * (closing what was opened), its message naming the disk's field ({@code devices[0].disks[1].image}).
   */
  public OpenImages openAll(String vmId, VmSpec spec) throws ImageException {
    List<QemuCommandLine.Nic> ready;
    try {
      ready = nics.prepare(vmId, spec); // first: it opens only taps, closed with the rest below on failure
    } catch (NicPreparer.NicException e) {
      throw new ImageException(ImageException.Kind.UNAVAILABLE, e.getMessage());
    }
    Map<String, OpenImage> opened = new LinkedHashMap<>();
    Map<String, OpenImages.OpenBase> bases = new LinkedHashMap<>();
    try {
      for (int d = 0; d < spec.getDevicesCount(); d++) {
        ProxiedDevice device = spec.getDevices(d);
        for (int k = 0; k < device.getDisksCount(); k++) {
          Disk disk = device.getDisks(k);
          String path = "devices[" + d + "].disks[" + k + "]";
          if (disk.getBase().isEmpty()) {
            opened.put(disk.getId(), open(path + ".image", disk.getImage(), SpecValidator.formatOrDefault(disk),
                disk.getReadOnly()));
          } else {
            openOverBase(vmId, disk, path, opened, bases);
          }
        }
      }
      if (CloudInitSeed.wanted(spec)) {
        if (seeds == null) {
          throw new ImageException(ImageException.Kind.UNAVAILABLE, "cloud_init: this node makes no seeds");
        }
        opened.put(CloudInitSeed.ID, seeds.open(vmId, spec));
      }
      if (!spec.getBoot().getKernel().isEmpty()) {
        opened.put(OpenImages.KERNEL, openBootFile("boot.kernel", spec.getBoot().getKernel()));
      }
      if (!spec.getBoot().getInitrd().isEmpty()) {
        opened.put(OpenImages.INITRD, openBootFile("boot.initrd", spec.getBoot().getInitrd()));
      }
      return new OpenImages(opened, bases, ready);
    } catch (ImageException | RuntimeException e) {
      new OpenImages(opened, bases, ready).close(); // what was opened so far
      throw e;
    }
  }

  /** A disk over a catalog base: the base read-only, and the VM's own overlay (made on its first launch). */
  private void openOverBase(String vmId, Disk disk, String path, Map<String, OpenImage> opened,
      Map<String, OpenImages.OpenBase> bases) throws ImageException {
    try {
      BaseImages.BaseImage base = catalog.base(disk.getBase()).orElseThrow(() -> new ImageException(
          ImageException.Kind.UNAVAILABLE, path + ".base: '" + disk.getBase() + "' is not in this node's catalog (see"
          + " ListImages): import it here, or place the VM on a node that has it"));
      Fd baseFd = Fd.open(base.file(), false);
      bases.put(disk.getId(), new OpenImages.OpenBase(new OpenImage(base.name(), baseFd, true, base.virtualSizeBytes()),
          base.format()));
      Path overlay = overlays.ensure(vmId, disk, base, path);
      Fd own = Fd.open(overlay, true);
      opened.put(disk.getId(), new OpenImage(overlay.getFileName().toString(), own, false, Files.size(overlay)));
    } catch (IOException e) {
      throw new ImageException(ImageException.Kind.UNAVAILABLE, path + ": the disk over '" + disk.getBase()
          + "' cannot be opened: " + e.getMessage());
    }
  }

  /**
   * Opens {@code image} (relative to the root) for a disk of {@code format}; {@code what} names the
   * disk in messages (e.g. {@code devices[0].disks[1].image}).
   */
  public OpenImage open(String what, String image, String format, boolean readOnly) throws ImageException {
    try (Fd dir = openRoot()) {
      Fd fd = openBeneath(dir, what, image, readOnly);
      try {
        long size = checkFile(fd, what, image);
        if (format.equals("qcow2")) {
          checkQcow2(fd, what, image);
        }
        return new OpenImage(image, fd, readOnly, size);
      } catch (ImageException | RuntimeException e) {
        fd.close();
        throw e;
      }
    }
  }

  /**
   * A kernel or initrd: opened like a read-only raw disk, and readable by all, since QEMU reads it by name
   * ({@code /proc/self/fd/N}, which checks the file's own permissions) as the VM's unprivileged user.
   */
  private OpenImage openBootFile(String what, String path) throws ImageException {
    OpenImage opened = open(what, path, "raw", true);
    try {
      if (((Integer) opened.fd().stat().get("mode") & 0004) == 0) {
        throw new ImageException(ImageException.Kind.FORBIDDEN, what + ": '" + path + "' is not readable by all:"
            + " QEMU reads a kernel or initrd by name, as the VM's own user; make it mode 0644");
      }
      return opened;
    } catch (IOException e) {
      opened.close();
      throw new ImageException(ImageException.Kind.UNAVAILABLE, what + ": '" + path + "' cannot be examined: "
          + e.getMessage());
    } catch (ImageException | RuntimeException e) {
      opened.close();
      throw e;
    }
  }

  private Fd openRoot() throws ImageException {
    try {
      return Beneath.openDirectory(root);
    } catch (IOException e) {
      // the node's fault, not the spec's: the root's path and why stay in the agent's log
      throw new ImageException(ImageException.Kind.UNAVAILABLE, "this node's image root cannot be opened: "
          + InternalErrors.report(LOG, "opening the image root " + root, e));
    }
  }

  private static Fd openBeneath(Fd dir, String what, String image, boolean readOnly) throws ImageException {
    try {
      return Beneath.open(dir, Path.of(image), !readOnly);
    } catch (SysException e) {
      if (e.notFound()) {
        throw new ImageException(ImageException.Kind.UNAVAILABLE,
            what + ": image '" + image + "' does not exist under this node's image root");
      }
      if (e.linkOrNotDirectory()) {
        throw new ImageException(ImageException.Kind.FORBIDDEN, what + ": image '" + image + "' is refused: "
            + e.getMessage() + " (images are reached without symbolic links)");
      }
      if (e.directory()) {
        throw new ImageException(ImageException.Kind.UNAVAILABLE, what + ": image '" + image + "' is not a regular file");
      }
      if (e.denied()) {
        throw new ImageException(ImageException.Kind.FORBIDDEN, what + ": image '" + image + "' is not "
            + (readOnly ? "readable" : "readable and writable") + " by the agent");
      }
      throw new ImageException(ImageException.Kind.UNAVAILABLE, what + ": image '" + image + "': " + e.getMessage());
    } catch (IOException e) {
      throw new ImageException(ImageException.Kind.UNAVAILABLE, what + ": image '" + image + "': " + e.getMessage());
    }
  }

  private static long checkFile(Fd fd, String what, String image) throws ImageException {
    Map<String, Object> st;
    try {
      st = fd.stat();
    } catch (IOException e) {
      throw new ImageException(ImageException.Kind.UNAVAILABLE, what + ": image '" + image + "' cannot be examined: "
          + e.getMessage());
    }
    if (((Integer) st.get("mode") & S_IFMT) != S_IFREG) {
      throw new ImageException(ImageException.Kind.UNAVAILABLE, what + ": image '" + image + "' is not a regular file");
    }
    int links = (Integer) st.get("nlink");
    if (links != 1) {
      throw new ImageException(ImageException.Kind.FORBIDDEN, what + ": image '" + image + "' has " + links
          + " hard links; an image must have one name, under the image root (copy it instead of linking it)");
    }
    return (Long) st.get("size");
  }

  private static void checkQcow2(Fd fd, String what, String image) throws ImageException {
    byte[] header;
    try {
      header = fd.read(0, Qcow2Header.BYTES);
    } catch (IOException e) {
      throw new ImageException(ImageException.Kind.UNAVAILABLE, what + ": image '" + image + "' cannot be read: "
          + e.getMessage());
    }
    var refusal = Qcow2Header.refusal(header);
    if (refusal.isPresent()) {
      throw new ImageException(ImageException.Kind.UNSAFE, what + ": image '" + image + "': " + refusal.get());
    }
  }
}
