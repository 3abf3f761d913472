package io.mpqemu.errors;

import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import io.vertx.grpc.common.GrpcStatus;
import io.vertx.grpc.server.StatusException;
import java.io.IOException;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.regex.Matcher;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

class InternalErrorsTest {

  private static final Logger LOG = LoggerFactory.getLogger(InternalErrorsTest.class);
  private final ListAppender<ILoggingEvent> logged = new ListAppender<>();

  @BeforeEach
  void capture() {
    logged.start();
    ((ch.qos.logback.classic.Logger) LOG).addAppender(logged);
  }

  @AfterEach
  void release() {
    ((ch.qos.logback.classic.Logger) LOG).detachAppender(logged);
  }

  @Test
  @DisplayName("the caller's message carries an id and nothing of the failure; one ERROR line has the id, the context and the detail")
  void report() {
    Throwable failure = new IllegalStateException("Reading the store /var/lib/mpqemu/control-plane.db failed",
        new IOException("[SQLITE_ERROR] no such table: vms (SELECT id FROM vms)"));

    String message = InternalErrors.report(LOG, "answering GetVm", failure);

    Matcher m = InternalErrors.MESSAGE.matcher(message);
    assertThat(m.matches()).as(message).isTrue();
    String id = m.group(1);
    assertThat(InternalErrors.ID.matcher(id).matches()).isTrue();
    assertThat(message).doesNotContain("/", "store", "SELECT", "SQLITE", "IllegalStateException");

    assertThat(logged.list).hasSize(1);
    ILoggingEvent line = logged.list.get(0);
    assertThat(line.getLevel()).isEqualTo(Level.ERROR);
    assertThat(line.getFormattedMessage()).contains("id=" + id, "answering GetVm",
        "Reading the store /var/lib/mpqemu/control-plane.db failed");
    assertThat(line.getThrowableProxy()).as("the stack trace, with the cause's SQL").isNotNull();
    assertThat(line.getThrowableProxy().getCause().getMessage()).contains("no such table: vms");
  }

  @Test
  @DisplayName("status is an INTERNAL StatusException with that message")
  void status() {
    StatusException s = InternalErrors.status(LOG, "testing", new NullPointerException());
    assertThat(s.status()).isEqualTo(GrpcStatus.INTERNAL);
    assertThat(s.message()).matches(InternalErrors.MESSAGE);
    assertThat(logged.list).singleElement().satisfies(e -> assertThat(e.getFormattedMessage())
        .contains("NullPointerException"));
  }

  @Test
  @DisplayName("each report gets its own id")
  void idsDiffer() {
    Set<String> ids = new HashSet<>();
    for (int i = 0; i < 20; i++) {
      Matcher m = InternalErrors.MESSAGE.matcher(InternalErrors.report(LOG, "testing", new RuntimeException("x", null, false, false) { }));
      assertThat(m.matches()).isTrue();
      ids.add(m.group(1));
    }
    assertThat(ids).hasSize(20);
    List<String> loggedIds = logged.list.stream().map(e -> e.getArgumentArray()[0].toString()).toList();
    assertThat(loggedIds).containsAll(ids);
  }
}
