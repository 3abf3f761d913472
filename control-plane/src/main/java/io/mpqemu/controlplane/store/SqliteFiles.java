package io.mpqemu.controlplane.store;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFileAttributeView;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Set;

/** The SQLite store's files on disk: the database, its -wal and -shm, all readable by the owner only. */
final class SqliteFiles {

  private static final Set<PosixFilePermission> OWNER_ONLY = PosixFilePermissions.fromString("rw-------");
  private static final Set<PosixFilePermission> OWNER_ONLY_DIR = PosixFilePermissions.fromString("rwx------");

  private SqliteFiles() {}

  /** Creates the directory (0700) and the file (0600) when missing, and makes an existing file 0600. */
  static void prepare(Path file) {
    try {
      Path dir = file.getParent();
      if (!Files.isDirectory(dir)) {
        Files.createDirectories(dir, PosixFilePermissions.asFileAttribute(OWNER_ONLY_DIR));
      }
      try {
        Files.createFile(file, PosixFilePermissions.asFileAttribute(OWNER_ONLY));
        syncDirectory(dir);
      } catch (FileAlreadyExistsException e) {
        // an existing store: opened as it is
      }
      restrict(file);
    } catch (IOException | UnsupportedOperationException e) {
      throw new StoreException(StoreException.Kind.UNAVAILABLE,
          "Cannot create the store file " + file + ": " + e.getMessage(), e);
    }
  }

  /** Makes the database file and its -wal and -shm companions (when present) 0600. */
  static void restrict(Path file) throws IOException {
    for (String suffix : new String[] {"", "-wal", "-shm"}) {
      Path path = file.resolveSibling(file.getFileName() + suffix);
      if (Files.exists(path) && Files.getFileAttributeView(path, PosixFileAttributeView.class) != null) {
        Files.setPosixFilePermissions(path, OWNER_ONLY);
      }
    }
  }

  /** Makes the new file's directory entry durable; a no-op where directories cannot be opened. */
  private static void syncDirectory(Path dir) {
    try (FileChannel channel = FileChannel.open(dir, StandardOpenOption.READ)) {
      channel.force(true);
    } catch (IOException e) {
      // not supported on this platform; SQLite syncs what it creates itself
    }
  }
}
