package io.mpqemu.agent.images;

import io.mpqemu.agent.sys.Fd;
import io.mpqemu.agent.sys.HostTool;
import io.mpqemu.spec.CloudInitSeed;
import io.mpqemu.v1.VmSpec;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * The VMs' cloud-init seeds: an ISO 9660 volume labelled {@code cidata} (NoCloud) with the spec's files,
 * made by {@code genisoimage} at every launch (it takes milliseconds, and the seed then always says what
 * the spec says) as {@code cidata.iso} beside the VM's own disks, and removed with them. The agent writes
 * the files and runs the tool with a fixed argument list: what the caller wrote is content, never a name
 * or an option. Blocking.
 */
public final class CloudInitSeeds {

  static final String FILE = CloudInitSeed.ID + ".iso";

  private final Overlays disks;
  private final String genisoimage;

  /** @param disks whose per-VM directories the seeds go in; @param genisoimage the tool that makes them */
  public CloudInitSeeds(Overlays disks, String genisoimage) {
    this.disks = disks;
    this.genisoimage = genisoimage;
  }

  /** Makes the VM's seed afresh and opens it read-only. */
  OpenImage open(String vmId, VmSpec spec) throws ImageException {
    Path dir = disks.dirOf(vmId);
    Path files = dir.resolve("." + CloudInitSeed.ID + ".files");
    Path temp = dir.resolve("." + FILE + ".new");
    Path seed = dir.resolve(FILE);
    try {
      Files.createDirectories(dir, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
      Overlays.deleteFlat(files);
      Files.createDirectory(files);
      List<String> argv = new ArrayList<>(List.of(genisoimage, "-quiet", "-output", temp.toString(), "-volid",
          CloudInitSeed.ID, "-joliet", "-rock", "-input-charset", "utf-8"));
      for (Map.Entry<String, byte[]> f : CloudInitSeed.files(vmId, spec).entrySet()) {
        Path file = files.resolve(f.getKey());
        Files.write(file, f.getValue());
        argv.add(file.toString());
      }
      HostTool.run(argv, 30);
      Files.setPosixFilePermissions(temp, PosixFilePermissions.fromString("rw-------"));
      Files.move(temp, seed, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
      Fd fd = Fd.open(seed, false);
      return new OpenImage(FILE, fd, true, Files.size(seed));
    } catch (HostTool.ToolFailed e) {
      throw new ImageException(ImageException.Kind.UNAVAILABLE, "cloud_init: the seed could not be made: "
          + e.getMessage());
    } catch (IOException e) {
      String why = e.getMessage() != null && e.getMessage().contains("Cannot run program")
          ? genisoimage + " is not installed here (deploy/install-deps.sh installs it)" : e.getMessage();
      throw new ImageException(ImageException.Kind.UNAVAILABLE, "cloud_init: this node cannot make the seed: " + why);
    } finally {
      try {
        Overlays.deleteFlat(files);
        Files.deleteIfExists(temp);
      } catch (IOException ignored) {
        // left for the VM's deletion, which removes its whole directory
      }
    }
  }
}
