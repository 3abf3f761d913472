package io.mpqemu.agent.sys;

import com.sun.jna.LastErrorException;
import com.sun.jna.Library;
import com.sun.jna.Native;
import com.sun.jna.Pointer;
import com.sun.jna.ptr.IntByReference;

/** glibc functions, x86_64 Linux. Every call that can fail throws {@link LastErrorException} with errno. */
interface Libc extends Library {

  Libc C = Native.load("c", Libc.class);

  int O_RDONLY = 0;
  int O_WRONLY = 01;
  int O_RDWR = 02;
  int O_CREAT = 0100;
  int O_APPEND = 02000;
  int O_NOCTTY = 0400;
  int O_NONBLOCK = 04000;
  int O_DIRECTORY = 0200000;
  int O_NOFOLLOW = 0400000;
  int O_CLOEXEC = 02000000;
  int O_PATH = 010000000;

  int AF_UNIX = 1;
  int SOCK_STREAM = 1;
  int SOCK_CLOEXEC = O_CLOEXEC;

  int F_DUPFD_CLOEXEC = 1030;
  int F_GETFL = 3;
  int F_SETFL = 4;

  int WEXITED = 4;
  int WNOWAIT = 0x01000000;
  int P_PID = 1;

  /** posix_spawnattr flags (glibc). */
  short POSIX_SPAWN_SETSIGDEF = 0x04;
  short POSIX_SPAWN_SETSIGMASK = 0x08;
  short POSIX_SPAWN_SETSID = 0x80;

  int open(String path, int flags, int mode) throws LastErrorException;

  /** ioctl with a pointer argument (a struct the caller lays out). */
  int ioctl(int fd, com.sun.jna.NativeLong request, byte[] arg) throws LastErrorException;

  int openat(int dirfd, String path, int flags, int mode) throws LastErrorException;

  int close(int fd) throws LastErrorException;

  int fcntl(int fd, int cmd, int arg) throws LastErrorException;

  int socket(int domain, int type, int protocol) throws LastErrorException;

  /** {@code addr} is a whole {@code struct sockaddr_un}: the family, then the path and its NUL. */
  int bind(int fd, byte[] addr, int addrlen) throws LastErrorException;

  int listen(int fd, int backlog) throws LastErrorException;

  long pread(int fd, byte[] buf, long count, long offset) throws LastErrorException;

  int kill(int pid, int signal) throws LastErrorException;

  int waitid(int idtype, int id, Pointer siginfo, int options) throws LastErrorException;

  int waitpid(int pid, IntByReference status, int options) throws LastErrorException;

  // posix_spawn and its helpers return an error number instead of setting errno

  int posix_spawnp(IntByReference pid, String file, Pointer fileActions, Pointer attr, String[] argv, String[] envp);

  int posix_spawn_file_actions_init(Pointer fileActions);

  int posix_spawn_file_actions_adddup2(Pointer fileActions, int fd, int newfd);

  int posix_spawn_file_actions_addclosefrom_np(Pointer fileActions, int from);

  int posix_spawn_file_actions_destroy(Pointer fileActions);

  int posix_spawnattr_init(Pointer attr);

  int posix_spawnattr_setflags(Pointer attr, short flags);

  int posix_spawnattr_setsigmask(Pointer attr, Pointer sigset);

  int posix_spawnattr_setsigdefault(Pointer attr, Pointer sigset);

  int posix_spawnattr_destroy(Pointer attr);

  int sigemptyset(Pointer set);

  int sigfillset(Pointer set);

  String strerror(int errnum);
}
