package io.mpqemu.agent.api;

import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import io.mpqemu.agent.fence.LeaderFence;
import io.mpqemu.agent.vm.VmException;
import io.vertx.core.Future;
import io.mpqemu.errors.InternalErrors;
import io.vertx.grpc.common.GrpcStatus;
import io.vertx.grpc.server.StatusException;
import java.io.UncheckedIOException;
import java.nio.file.NoSuchFileException;
import java.util.regex.Matcher;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;

class StatusesTest {

  @Test
  @DisplayName("an unexpected error answers INTERNAL with an id and no path; the agent's log line with the id has the path")
  void unexpected() {
    ch.qos.logback.classic.Logger log = (ch.qos.logback.classic.Logger) LoggerFactory.getLogger(Statuses.class);
    ListAppender<ILoggingEvent> logged = new ListAppender<>();
    logged.start();
    log.addAppender(logged);
    try {
      Throwable failure = new UncheckedIOException(new NoSuchFileException("/var/lib/mpqemu-agent/vms/vm-1/state.json"));

      StatusException s = (StatusException) Statuses.toStatus(failure);

      assertThat(s.status()).isEqualTo(GrpcStatus.INTERNAL);
      Matcher m = InternalErrors.MESSAGE.matcher(s.message());
      assertThat(m.matches()).as(s.message()).isTrue();
      assertThat(s.message()).doesNotContain("/", "state.json");
      assertThat(logged.list).singleElement().satisfies(line -> assertThat(line.getFormattedMessage())
          .contains("id=" + m.group(1), "/var/lib/mpqemu-agent/vms/vm-1/state.json"));
    } finally {
      log.detachAppender(logged);
    }
  }

  @Test
  @DisplayName("the agent's own refusals keep their messages: a failed launch still says what QEMU said")
  void expected() {
    StatusException launch = (StatusException) Statuses.toStatus(
        new VmException(VmException.Kind.LAUNCH_FAILED, "VM vm-1: main QEMU exited: qemu: could not open disk"));
    assertThat(launch.status()).isEqualTo(GrpcStatus.INTERNAL);
    assertThat(launch.message()).isEqualTo("VM vm-1: main QEMU exited: qemu: could not open disk");
    StatusException missing = (StatusException) Statuses.toStatus(
        new VmException(VmException.Kind.NOT_FOUND, "VM vm-2 does not exist on this node"));
    assertThat(missing.status()).isEqualTo(GrpcStatus.NOT_FOUND);
    assertThat(missing.message()).isEqualTo("VM vm-2 does not exist on this node");
  }

  @Test
  @DisplayName("fencing refusals are FAILED_PRECONDITION with their message; an epoch that could not be recorded is UNAVAILABLE without the path")
  void fencing() {
    StatusException stale = (StatusException) Statuses.toStatus(
        new LeaderFence(5, epoch -> Future.succeededFuture()).admit(4).cause());
    assertThat(stale.status()).isEqualTo(GrpcStatus.FAILED_PRECONDITION);
    assertThat(stale.message()).startsWith("leader epoch 4 is older than epoch 5 this node has seen");
    StatusException none = (StatusException) Statuses.toStatus(
        new LeaderFence(5, epoch -> Future.succeededFuture()).admit(0).cause());
    assertThat(none.status()).isEqualTo(GrpcStatus.FAILED_PRECONDITION);

    StatusException unrecorded = (StatusException) Statuses.toStatus(new LeaderFence(5,
        epoch -> Future.failedFuture(new NoSuchFileException("/var/lib/mpqemu/agent/leader-epoch.tmp"))).admit(6).cause());

    assertThat(unrecorded.status()).isEqualTo(GrpcStatus.UNAVAILABLE);
    assertThat(unrecorded.message()).startsWith("leader epoch 6 is new to this node and could not be recorded")
        .doesNotContain("/");
  }
}
