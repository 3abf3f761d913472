package io.mpqemu.agent.confine;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;

/**
 * Keeps two agents on one host from handing out the same uids: each holds a lock on a file naming
 * its range in a host-wide directory, and refuses to start while another live agent holds a range
 * that overlaps its own. The lock goes with the agent's process, however it ends; an agent that
 * stops removes its file (one that was killed leaves it, unlocked, for the next to reuse).
 */
final class RangeLock implements AutoCloseable {

  static final Path DIR = Path.of("/run/mpqemu/uid-ranges");

  private final Path file;
  private final FileChannel channel;
  private final FileLock lock;

  private RangeLock(Path file, FileChannel channel, FileLock lock) {
    this.file = file;
    this.channel = channel;
    this.lock = lock;
  }

  /** Locks {@code range}, or fails naming the live range it overlaps. Blocking. */
  static RangeLock acquire(Path dir, UidRange range) throws IOException {
    Files.createDirectories(dir, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
    try (DirectoryStream<Path> files = Files.newDirectoryStream(dir, "*.lock")) {
      for (Path f : files) {
        String[] bounds = f.getFileName().toString().replace(".lock", "").split("-");
        if (bounds.length != 2 || !bounds[0].matches("\\d{1,10}") || !bounds[1].matches("\\d{1,10}")) {
          continue;
        }
        if (range.overlaps(Long.parseLong(bounds[0]), Long.parseLong(bounds[1])) && heldByAnother(f)) {
          throw new IOException("another agent on this host gives out the uids " + bounds[0] + "-" + bounds[1]
              + ", which overlap " + range + ": give this agent another --uid-range");
        }
      }
    }
    Path mine = dir.resolve(range.first() + "-" + range.last() + ".lock");
    FileChannel ch = FileChannel.open(mine, StandardOpenOption.CREATE, StandardOpenOption.WRITE);
    FileLock lock;
    try {
      lock = ch.tryLock();
    } catch (OverlappingFileLockException e) {
      lock = null;
    }
    if (lock == null) {
      ch.close();
      throw new IOException("another agent on this host gives out the uids " + range + ": give this agent another --uid-range");
    }
    return new RangeLock(mine, ch, lock);
  }

  private static boolean heldByAnother(Path f) throws IOException {
    try (FileChannel ch = FileChannel.open(f, StandardOpenOption.WRITE)) {
      FileLock probe = ch.tryLock();
      if (probe == null) {
        return true;
      }
      probe.release();
      return false;
    } catch (OverlappingFileLockException e) {
      return true; // held by this JVM (an in-process agent of a test)
    }
  }

  @Override
  public void close() throws IOException {
    Files.deleteIfExists(file);
    lock.release();
    channel.close();
  }
}
