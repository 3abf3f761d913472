package io.mpqemu.agent.process;

import java.util.Optional;

/**
 * How a process ended. {@code code} is empty when nobody could learn it: a process that was not
 * our child (adopted after an agent restart) exits without telling us its status.
 */
public record ExitStatus(Optional<Integer> code, Optional<String> signal) {

  private static final String[] SIGNALS = {
    null, "SIGHUP", "SIGINT", "SIGQUIT", "SIGILL", "SIGTRAP", "SIGABRT", "SIGBUS", "SIGFPE",
    "SIGKILL", "SIGUSR1", "SIGSEGV", "SIGUSR2", "SIGPIPE", "SIGALRM", "SIGTERM"
  };

  /** From {@link Process#exitValue()}, which reports death by signal N as 128 + N. */
  public static ExitStatus ofExitValue(int exitValue) {
    if (exitValue > 128 && exitValue < 128 + 65) {
      int signo = exitValue - 128;
      String name = signo < SIGNALS.length ? SIGNALS[signo] : "SIG" + signo;
      return new ExitStatus(Optional.of(exitValue), Optional.of(name));
    }
    return new ExitStatus(Optional.of(exitValue), Optional.empty());
  }

  public static ExitStatus unknown() {
    return new ExitStatus(Optional.empty(), Optional.empty());
  }

  public boolean known() {
    return code.isPresent();
  }

  /** "exit status 1", "killed by SIGKILL", "exit status unknown". */
  public String describe() {
    if (signal.isPresent()) {
      return "killed by " + signal.get();
    }
    return code.map(c -> "exit status " + c).orElse("exit status unknown (not a child of this agent)");
  }
}
