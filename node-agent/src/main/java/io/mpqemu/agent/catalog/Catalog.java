package io.mpqemu.agent.catalog;

import io.mpqemu.agent.catalog.CatalogException.Kind;
import io.mpqemu.agent.images.BaseImages;
import io.mpqemu.agent.images.Qcow2Header;
import io.mpqemu.spec.DiskSources;
import io.vertx.core.json.JsonObject;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Clock;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * A node's image catalog in one directory: {@code NAME.img} and its record {@code NAME.json}. An import
 * is written to {@code .incoming/} and linked in as {@code NAME.img} (a link never replaces a file) only
 * once its size and SHA-256 match what was declared, after its record; a record without an image is an
 * import that did not finish, and is not listed. Blocking; one import per name at a time.
 */
public final class Catalog implements BaseImages {

  /** The spec validator's rule for a base's name: one definition of what a catalog name is. */
  public static final Pattern NAME = DiskSources.CATALOG_NAME;
  public static final Set<String> FORMATS = Set.of("raw", "qcow2");
  private static final Pattern SHA256 = Pattern.compile("^[0-9a-f]{64}$");

  private final Path dir;
  private final Path incoming;
  private final long maxBytes;
  private final Clock clock;
  /** The names in the catalog, kept as imports and deletes change it: read by any thread without I/O. */
  private final java.util.concurrent.ConcurrentSkipListSet<String> names = new java.util.concurrent.ConcurrentSkipListSet<>();

  /** @param maxBytes the largest image this node takes */
  public Catalog(Path dir, long maxBytes, Clock clock) throws IOException {
    this.dir = dir;
    this.incoming = dir.resolve(".incoming");
    this.maxBytes = maxBytes;
    this.clock = clock;
    Files.createDirectories(incoming, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
    try (Stream<Path> left = Files.list(incoming)) {
      for (Path p : left.toList()) {
        Files.deleteIfExists(p); // imports an earlier agent did not finish
      }
    }
    list().forEach(e -> names.add(e.name()));
  }

  /** The names of the images in the catalog now; no I/O. */
  public List<String> names() {
    return List.copyOf(names);
  }

  /** The image file of an entry: what the agent opens for a VM based on it. */
  public Path imageOf(String name) {
    return dir.resolve(name + ".img");
  }

  /** Checks what an import declares and makes room for its bytes. */
  public Incoming begin(Upload upload) throws IOException {
    if (!NAME.matcher(upload.name()).matches()) {
      throw new CatalogException(Kind.INVALID, "name " + quote(upload.name()) + " is not a catalog name: use 1 to 63"
          + " lowercase letters, digits, '.', '_' and '-', starting with a letter or digit");
    }
    if (!FORMATS.contains(upload.format())) {
      throw new CatalogException(Kind.INVALID, "format must be raw or qcow2, not " + quote(upload.format()));
    }
    if (!SHA256.matcher(upload.sha256()).matches()) {
      throw new CatalogException(Kind.INVALID, "sha256 must be 64 lowercase hex digits (sha256sum's output)");
    }
    if (upload.sizeBytes() <= 0 || upload.sizeBytes() > maxBytes) {
      throw new CatalogException(Kind.INVALID, "size_bytes must be from 1 to " + maxBytes + " (this node's bound), not "
          + Long.toUnsignedString(upload.sizeBytes()));
    }
    if (Files.exists(imageOf(upload.name()))) {
      throw new CatalogException(Kind.EXISTS, "an image named '" + upload.name() + "' is already in this node's"
          + " catalog: delete it first or choose another name");
    }
    long room = Files.getFileStore(dir).getUsableSpace();
    if (room < upload.sizeBytes()) {
      throw new CatalogException(Kind.NO_SPACE, "this node has room for " + room + " bytes in its catalog, not the "
          + upload.sizeBytes() + " of '" + upload.name() + "'");
    }
    Path temp = incoming.resolve(upload.name() + "-" + UUID.randomUUID());
    FileChannel out = FileChannel.open(temp, Set.of(StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE),
        PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
    return new Incoming(upload, temp, out);
  }

  public List<CatalogEntry> list() throws IOException {
    List<CatalogEntry> entries = new ArrayList<>();
    try (Stream<Path> files = Files.list(dir)) {
      for (Path p : files.sorted().toList()) {
        String file = p.getFileName().toString();
        if (file.endsWith(".img")) {
          find(file.substring(0, file.length() - 4)).ifPresent(entries::add);
        }
      }
    }
    return entries;
  }

  public Optional<CatalogEntry> find(String name) throws IOException {
    if (!NAME.matcher(name).matches() || !Files.exists(imageOf(name))) {
      return Optional.empty();
    }
    try {
      return Optional.of(CatalogEntry.fromJson(new JsonObject(Files.readString(dir.resolve(name + ".json")))));
    } catch (NoSuchFileException e) {
      return Optional.empty();
    }
  }

  @Override
  public Optional<BaseImage> base(String name) throws IOException {
    return find(name).map(e -> new BaseImage(e.name(), imageOf(e.name()), e.format(), e.virtualSizeBytes()));
  }

  /** Removes an image and its record: the image first, so it is never listed half-removed. */
  public void delete(String name) throws IOException {
    if (find(name).isEmpty()) {
      throw new CatalogException(Kind.NOT_FOUND, "no image named " + quote(name) + " in this node's catalog");
    }
    Files.delete(imageOf(name));
    names.remove(name);
    Files.deleteIfExists(dir.resolve(name + ".json"));
  }

  /** An import under way: its bytes go to a file of its own, checked as they come and at the end. */
  public final class Incoming implements AutoCloseable {
    private final Upload upload;
    private final Path temp;
    private final FileChannel out;
    private final MessageDigest sha256;
    private final byte[] head = new byte[Qcow2Header.BYTES];
    private long written;
    private boolean done;

    private Incoming(Upload upload, Path temp, FileChannel out) {
      this.upload = upload;
      this.temp = temp;
      this.out = out;
      try {
        this.sha256 = MessageDigest.getInstance("SHA-256");
      } catch (NoSuchAlgorithmException e) {
        throw new IllegalStateException(e);
      }
    }

    public long written() {
      return written;
    }

    public void write(byte[] data) throws IOException {
      if (written + data.length > upload.sizeBytes()) {
        throw new CatalogException(Kind.INVALID, "more bytes came than the " + upload.sizeBytes() + " declared");
      }
      if (written < head.length) {
        System.arraycopy(data, 0, head, (int) written, (int) Math.min(data.length, head.length - written));
      }
      sha256.update(data);
      ByteBuffer b = ByteBuffer.wrap(data);
      while (b.hasRemaining()) {
        try {
          out.write(b);
        } catch (IOException e) {
          if (String.valueOf(e.getMessage()).contains("No space left")) {
            throw new CatalogException(Kind.NO_SPACE, "this node ran out of room after " + written + " of "
                + upload.sizeBytes() + " bytes of '" + upload.name() + "'");
          }
          throw e;
        }
      }
      written += data.length;
    }

    /** Checks size, checksum and format, then makes the image visible; answers its entry. */
    public CatalogEntry commit() throws IOException {
      if (written != upload.sizeBytes()) {
        throw new CatalogException(Kind.INVALID, "the upload ended after " + written + " of the " + upload.sizeBytes()
            + " bytes declared");
      }
      String got = HexFormat.of().formatHex(sha256.digest());
      if (!got.equals(upload.sha256())) {
        throw new CatalogException(Kind.INVALID, "the bytes received have sha256 " + got + ", not the " + upload.sha256()
            + " declared: the file changed or the transfer broke; import it again");
      }
      long virtualSize = written;
      if (upload.format().equals("qcow2")) {
        if (!Qcow2Header.isQcow2(head)) {
          throw new CatalogException(Kind.INVALID, "'" + upload.name() + "' is declared qcow2 but is not a qcow2 image");
        }
        Optional<String> refusal = Qcow2Header.refusal(head);
        if (refusal.isPresent()) {
          throw new CatalogException(Kind.INVALID, "'" + upload.name() + "' cannot be used: " + refusal.get());
        }
        virtualSize = Qcow2Header.virtualSize(head);
      }
      out.force(true);
      out.close();
      CatalogEntry entry = new CatalogEntry(upload.name(), upload.format(), got, written, virtualSize, clock.instant());
      Path record = dir.resolve(upload.name() + ".json");
      Path recordTemp = incoming.resolve(upload.name() + ".json-" + UUID.randomUUID());
      Files.writeString(recordTemp, entry.toJson().encodePrettily(), StandardCharsets.UTF_8);
      Files.move(recordTemp, record, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
      try {
        Files.createLink(imageOf(upload.name()), temp); // never replaces: a concurrent import of the name loses
      } catch (FileAlreadyExistsException e) {
        throw new CatalogException(Kind.EXISTS, "an image named '" + upload.name() + "' came into this node's catalog"
            + " while this one was imported");
      }
      Files.delete(temp);
      syncDirectory();
      names.add(upload.name());
      done = true;
      return entry;
    }

    /** Leaves nothing of an import that did not commit. */
    @Override
    public void close() throws IOException {
      if (out.isOpen()) {
        out.close();
      }
      if (!done) {
        Files.deleteIfExists(temp);
      }
    }
  }

  private void syncDirectory() throws IOException {
    try (FileChannel d = FileChannel.open(dir, StandardOpenOption.READ)) {
      d.force(true);
    }
  }

  private static String quote(String s) {
    return '"' + s.replace("\"", "\\\"") + '"';
  }
}
