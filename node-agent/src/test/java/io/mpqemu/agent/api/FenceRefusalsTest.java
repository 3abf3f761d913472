package io.mpqemu.agent.api;

import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import io.mpqemu.agent.fence.EpochStore;
import io.mpqemu.agent.fence.FenceException;
import io.mpqemu.agent.fence.LeaderFence;
import io.mpqemu.testing.ManualTime;
import io.vertx.core.Future;
import java.time.Duration;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

class FenceRefusalsTest {

  private static final EpochStore NEVER = epoch -> Future.failedFuture("not used");

  private static FenceException refusal(long remembered, long epoch) {
    return (FenceException) new LeaderFence(remembered, NEVER).admit(epoch).cause();
  }

  @Test
  @DisplayName("a stale control plane retrying costs one WARN line a minute per method and epoch, and the next line counts the repeats")
  void oneLineAMinutePerKind() {
    Logger logger = new LoggerContext().getLogger("test");
    ListAppender<ILoggingEvent> lines = new ListAppender<>();
    lines.start();
    logger.addAppender(lines);
    ManualTime time = new ManualTime();
    FenceRefusals log = new FenceRefusals(logger, time);

    for (int i = 0; i < 5; i++) {
      log.refused("n1", "StopVm", "vm-" + i, refusal(5, 4));
    }
    log.refused("n1", "LaunchVm", "vm-a", refusal(5, 4));
    log.refused("n1", "StopVm", "vm-b", refusal(5, 3));
    log.refused("n1", "StopVm", "vm-c", refusal(5, 0));
    assertThat(lines.list).extracting(ILoggingEvent::getFormattedMessage).containsExactly(
        "node=n1 StopVm of VM vm-0 refused: " + refusal(5, 4).getMessage(),
        "node=n1 LaunchVm of VM vm-a refused: " + refusal(5, 4).getMessage(),
        "node=n1 StopVm of VM vm-b refused: " + refusal(5, 3).getMessage(),
        "node=n1 StopVm of VM vm-c refused: " + refusal(5, 0).getMessage());
    assertThat(lines.list).allMatch(line -> line.getLevel() == ch.qos.logback.classic.Level.WARN);

    time.advance(Duration.ofSeconds(61));
    log.refused("n1", "StopVm", "vm-9", refusal(5, 4));
    assertThat(lines.list).last().extracting(ILoggingEvent::getFormattedMessage).isEqualTo(
        "node=n1 StopVm of VM vm-9 refused: " + refusal(5, 4).getMessage()
            + " (and 4 more like it in the last minute)");
  }
}
