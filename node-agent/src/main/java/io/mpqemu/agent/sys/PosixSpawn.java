package io.mpqemu.agent.sys;

import com.sun.jna.Memory;
import com.sun.jna.ptr.IntByReference;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Starts a program with exactly the descriptors it is given, at the numbers it is given, through
 * glibc's {@code posix_spawnp}: the child gets each mapped descriptor (dup2 file actions), every other
 * descriptor is closed before exec ({@code closefrom}), signal dispositions are reset and the mask
 * emptied, and, on request, it starts a session of its own ({@code POSIX_SPAWN_SETSID}), so a signal
 * to the agent's terminal does not reach it and it outlives the agent. The pid returned is the
 * program's own. glibc reports an exec failure as the call's result and reaps that child itself, so a
 * failed spawn leaves no process and no descriptor behind. The caller must reap a started child
 * ({@link ChildExit}).
 */
public final class PosixSpawn {

  /** Sizes of glibc's opaque types on x86_64 (80, 336 and 128 bytes), with room to spare. */
  private static final int FILE_ACTIONS_SIZE = 256;
  private static final int ATTR_SIZE = 1024;
  private static final int SIGSET_SIZE = 256;

  private PosixSpawn() {}

  /**
   * Spawns {@code argv} (argv[0] looked up on PATH) with {@code env} ("K=V" strings) and the
   * descriptors of {@code fds}: target number in the child to the agent's descriptor, which stays the
   * agent's to close. Returns the child's pid.
   */
  public static int spawn(List<String> argv, List<String> env, Map<Integer, Fd> fds, boolean newSession) throws IOException {
    if (argv.isEmpty()) {
      throw new IllegalArgumentException("nothing to run");
    }
    TreeMap<Integer, Fd> byTarget = new TreeMap<>(fds);
    // numbers without gaps above 2: closefrom covers everything past the last one, and no descriptor
    // of the agent can survive in a gap below it
    for (int n = 3; !byTarget.isEmpty() && n <= byTarget.lastKey(); n++) {
      if (!byTarget.containsKey(n)) {
        throw new IllegalArgumentException("descriptor numbers above 2 must have no gap, but " + n + " is missing: "
            + byTarget.keySet());
      }
    }
    int above = byTarget.isEmpty() ? 3 : Math.max(3, byTarget.lastKey() + 1);
    // copies numbered above every target: no dup2 can overwrite a source another one still needs,
    // and dup2 onto a different number clears close-on-exec on the child's copy
    List<Fd> copies = new ArrayList<>();
    Memory actions = new Memory(FILE_ACTIONS_SIZE);
    Memory attr = new Memory(ATTR_SIZE);
    check(Libc.C.posix_spawn_file_actions_init(actions), "posix_spawn_file_actions_init");
    try {
      check(Libc.C.posix_spawnattr_init(attr), "posix_spawnattr_init");
      try {
        for (Map.Entry<Integer, Fd> e : byTarget.entrySet()) {
          Fd copy = e.getValue().dupAtLeast(above);
          copies.add(copy);
          check(Libc.C.posix_spawn_file_actions_adddup2(actions, copy.number(), e.getKey()), "adddup2");
        }
        check(Libc.C.posix_spawn_file_actions_addclosefrom_np(actions, above), "addclosefrom_np");
        Memory all = new Memory(SIGSET_SIZE);
        Memory none = new Memory(SIGSET_SIZE);
        Libc.C.sigfillset(all);
        Libc.C.sigemptyset(none);
        check(Libc.C.posix_spawnattr_setsigdefault(attr, all), "setsigdefault");
        check(Libc.C.posix_spawnattr_setsigmask(attr, none), "setsigmask");
        short flags = (short) (Libc.POSIX_SPAWN_SETSIGDEF | Libc.POSIX_SPAWN_SETSIGMASK
            | (newSession ? Libc.POSIX_SPAWN_SETSID : 0));
        check(Libc.C.posix_spawnattr_setflags(attr, flags), "setflags");
        IntByReference pid = new IntByReference();
        int err = Libc.C.posix_spawnp(pid, argv.get(0), actions, attr, argv.toArray(String[]::new),
            env.toArray(String[]::new));
        if (err != 0) {
          throw Errors.io("cannot start " + argv.get(0), err);
        }
        return pid.getValue();
      } finally {
        Libc.C.posix_spawnattr_destroy(attr);
      }
    } finally {
      Libc.C.posix_spawn_file_actions_destroy(actions);
      copies.forEach(Fd::close);
    }
  }

  private static void check(int err, String what) throws IOException {
    if (err != 0) {
      throw Errors.io(what, err);
    }
  }
}
