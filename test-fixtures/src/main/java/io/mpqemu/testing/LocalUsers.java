package io.mpqemu.testing;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;

/**
 * Real UNIX users and groups a test creates (as root, with useradd and groupadd) and removes when it
 * closes, and the way to run a command as one of them: {@code setpriv} with the user's uid, gid and
 * groups, as a login would give them. Names carry a random suffix, so runs never meet.
 */
public final class LocalUsers implements AutoCloseable {

  private final String suffix = Integer.toHexString(ThreadLocalRandom.current().nextInt(0x10000, 0xfffff));
  private final List<String> users = new ArrayList<>();
  private final List<String> groups = new ArrayList<>();

  /** Creates the group {@code mpqt-<base>-<suffix>}; answers its name. */
  public String group(String base) throws IOException {
    String name = "mpqt-" + base + "-" + suffix;
    run(List.of("groupadd", name));
    groups.add(name);
    return name;
  }

  /** Creates a user {@code mpqt-<base>-<suffix>} without a home or a shell, member of {@code memberOf}. */
  public String user(String base, String... memberOf) throws IOException {
    String name = "mpqt-" + base + "-" + suffix;
    List<String> command = new ArrayList<>(List.of("useradd", "--no-create-home", "--shell", "/usr/sbin/nologin",
        "--user-group"));
    if (memberOf.length > 0) {
      command.addAll(List.of("--groups", String.join(",", memberOf)));
    }
    command.add(name);
    run(command);
    users.add(name);
    return name;
  }

  /** The uid of {@code user}. */
  public static int uid(String user) throws IOException {
    return Integer.parseInt(run(List.of("id", "-u", user)).strip());
  }

  /** {@code command} run as {@code user}, with its groups: a prefix for a ProcessBuilder. */
  public static List<String> as(String user, List<String> command) {
    List<String> all = new ArrayList<>(List.of("setpriv", "--reuid=" + user, "--regid=" + user, "--init-groups",
        "--"));
    all.addAll(command);
    return all;
  }

  /**
   * Copies the test class path (jars and class directories) to {@code dir}, readable by every user:
   * other users cannot read root's Maven repository. Answers the new class path.
   */
  public static String readableClasspath(Path dir) throws IOException {
    String classpath = System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
    Files.createDirectories(dir);
    Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxr-xr-x"));
    List<String> copied = new ArrayList<>();
    int i = 0;
    for (String entry : classpath.split(java.io.File.pathSeparator)) {
      Path from = Path.of(entry);
      if (!Files.exists(from)) {
        continue;
      }
      Path to = dir.resolve(i++ + "-" + from.getFileName());
      copyReadable(from, to);
      copied.add(to.toString());
    }
    return String.join(java.io.File.pathSeparator, copied);
  }

  private static void copyReadable(Path from, Path to) throws IOException {
    Files.walkFileTree(from, new SimpleFileVisitor<>() {
      @Override
      public FileVisitResult preVisitDirectory(Path d, BasicFileAttributes attrs) throws IOException {
        Path target = to.resolve(from.relativize(d).toString());
        Files.createDirectories(target);
        Files.setPosixFilePermissions(target, PosixFilePermissions.fromString("rwxr-xr-x"));
        return FileVisitResult.CONTINUE;
      }

      @Override
      public FileVisitResult visitFile(Path f, BasicFileAttributes attrs) throws IOException {
        Path target = from.equals(f) ? to : to.resolve(from.relativize(f).toString());
        Files.copy(f, target, StandardCopyOption.REPLACE_EXISTING);
        Files.setPosixFilePermissions(target, PosixFilePermissions.fromString("rw-r--r--"));
        return FileVisitResult.CONTINUE;
      }
    });
  }

  /** Removes the users, then the groups; what fails is left for the next run's names not to meet. */
  @Override
  public void close() {
    for (String user : users) {
      try {
        run(List.of("userdel", user));
      } catch (IOException e) {
        // best effort
      }
    }
    for (String group : groups) {
      try {
        run(List.of("groupdel", group));
      } catch (IOException e) {
        // best effort: a user's own group went with the user
      }
    }
  }

  private static String run(List<String> command) throws IOException {
    Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
    try {
      if (!p.waitFor(30, TimeUnit.SECONDS)) {
        p.destroyForcibly();
        throw new IOException(String.join(" ", command) + " did not finish within 30 s");
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IOException("interrupted", e);
    }
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    if (p.exitValue() != 0) {
      throw new IOException(String.join(" ", command) + " failed (" + p.exitValue() + "): " + out.strip());
    }
    return out;
  }
}
