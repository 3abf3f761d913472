package io.mpqemu.agent.state;

import io.vertx.core.json.JsonObject;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * Reads and writes VM state directories under {@code <stateRoot>/vms}. Every write is atomic and
 * durable (temporary file, fsync, rename, fsync of the directory), so a crash leaves either the old
 * record or the new one. Blocking: call from a worker.
 */
public final class VmStateStore {

  private final Path stateRoot;

  public VmStateStore(Path stateRoot) {
    this.stateRoot = stateRoot.toAbsolutePath().normalize();
  }

  public Path stateRoot() {
    return stateRoot;
  }

  public VmPaths paths(String vmId) {
    return VmPaths.of(stateRoot, vmId);
  }

  /** Creates the state root and its vms directory, both 0700. */
  public void init() throws IOException {
    createPrivateDir(stateRoot);
    createPrivateDir(stateRoot.resolve("vms"));
  }

  /** Creates the VM's directory, 0700; fine if it exists. */
  public void createVmDir(VmPaths paths) throws IOException {
    createPrivateDir(paths.dir());
  }

  public void write(VmPaths paths, VmRecord record) throws IOException {
    AtomicFiles.replace(paths.stateFile(), record.toJson().encodePrettily().getBytes(StandardCharsets.UTF_8));
  }

  public Optional<VmRecord> read(VmPaths paths) throws IOException {
    try {
      String text = Files.readString(paths.stateFile(), StandardCharsets.UTF_8);
      return Optional.of(VmRecord.fromJson(new JsonObject(text)));
    } catch (NoSuchFileException e) {
      return Optional.empty();
    }
  }

  /** The state directories that exist, with or without a state file. */
  public List<VmPaths> list() throws IOException {
    List<VmPaths> all = new ArrayList<>();
    Path vms = stateRoot.resolve("vms");
    if (!Files.isDirectory(vms)) {
      return all;
    }
    try (DirectoryStream<Path> dirs = Files.newDirectoryStream(vms, Files::isDirectory)) {
      for (Path dir : dirs) {
        all.add(new VmPaths(dir));
      }
    }
    return all;
  }

  /**
   * Removes the VM's QMP and console socket files, if any. The agent makes them for each launch, and
   * once the main QEMU is gone nothing listens on them; QEMU itself cannot always remove them (killed,
   * or confined where the state directory does not exist).
   */
  public void removeQmpSocket(VmPaths paths) throws IOException {
    Files.deleteIfExists(paths.qmpSocket());
    Files.deleteIfExists(paths.ttySocket());
  }

  /** Removes the VM's directory and everything in it. */
  public void delete(VmPaths paths) throws IOException {
    if (!Files.exists(paths.dir())) {
      return;
    }
    Files.walkFileTree(paths.dir(), new SimpleFileVisitor<>() {
      @Override
      public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) throws IOException {
        Files.deleteIfExists(file);
        return FileVisitResult.CONTINUE;
      }

      @Override
      public FileVisitResult postVisitDirectory(Path dir, IOException exc) throws IOException {
        Files.deleteIfExists(dir);
        return FileVisitResult.CONTINUE;
      }
    });
    AtomicFiles.fsyncDir(paths.dir().getParent());
  }

  private static void createPrivateDir(Path dir) throws IOException {
    if (!Files.isDirectory(dir)) {
      Files.createDirectories(dir);
    }
    Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwx------"));
  }
}
