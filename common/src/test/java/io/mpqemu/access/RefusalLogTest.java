package io.mpqemu.access;

import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import io.mpqemu.testing.ManualTime;
import java.time.Duration;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

class RefusalLogTest {

  @Test
  @DisplayName("a caller looping on a refused call costs one line a minute, and the next line counts the repeats")
  void oneLineAMinute() {
    Logger logger = new LoggerContext().getLogger("test");
    ListAppender<ILoggingEvent> lines = new ListAppender<>();
    lines.start();
    logger.addAppender(lines);
    ManualTime clock = new ManualTime();
    RefusalLog log = new RefusalLog(logger, clock);

    for (int i = 0; i < 5; i++) {
      log.refused("uid 1001 ListVms", "refused ListVms to uid 1001");
    }
    log.refused("uid 1002 ListVms", "refused ListVms to uid 1002");
    assertThat(lines.list).extracting(ILoggingEvent::getFormattedMessage)
        .containsExactly("refused ListVms to uid 1001", "refused ListVms to uid 1002");

    clock.advance(Duration.ofSeconds(61));
    log.refused("uid 1001 ListVms", "refused ListVms to uid 1001");
    assertThat(lines.list).last().extracting(ILoggingEvent::getFormattedMessage)
        .isEqualTo("refused ListVms to uid 1001 (and 4 more like it in the last minute)");
  }
}
