package io.mpqemu.agent.vm;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.mpqemu.v1.Phase;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Consumer;
import java.util.function.Supplier;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

@DisplayName("The lifecycle of a VM allows only its transitions")
class VmLifecycleTest {

  /** Each state the table starts from, reached through legal transitions only. */
  private static final Map<String, Supplier<Lifecycle>> STATES = new LinkedHashMap<>();
  /** Each transition the table tries. */
  private static final Map<String, Consumer<Lifecycle>> TRANSITIONS = new LinkedHashMap<>();
  /** The transitions allowed from each state; every other one throws. */
  private static final Map<String, Set<String>> ALLOWED = new LinkedHashMap<>();

  static {
    STATES.put("new", Lifecycle::new);
    STATES.put("launching", () -> apply(new Lifecycle(), Lifecycle::beginLaunch));
    STATES.put("launch failing", () -> apply(STATES.get("launching").get(), Lifecycle::launchFailing));
    STATES.put("running", () -> apply(STATES.get("launching").get(), Lifecycle::launched));
    STATES.put("paused", () -> apply(STATES.get("running").get(), Lifecycle::paused));
    STATES.put("stopping", () -> apply(STATES.get("running").get(), Lifecycle::beginStop));
    STATES.put("tearing down", () -> apply(STATES.get("running").get(), Lifecycle::beginTeardown));
    STATES.put("stopped", () -> apply(STATES.get("stopping").get(), s -> s.finish(Phase.PHASE_STOPPED, "Stopped", "")));
    STATES.put("failed", () -> apply(STATES.get("tearing down").get(), s -> s.finish(Phase.PHASE_FAILED, "X", "")));

    TRANSITIONS.put("beginLaunch", Lifecycle::beginLaunch);
    TRANSITIONS.put("launched", Lifecycle::launched);
    TRANSITIONS.put("launchFailing", Lifecycle::launchFailing);
    TRANSITIONS.put("launchFailed", s -> s.launchFailed("why"));
    TRANSITIONS.put("paused", Lifecycle::paused);
    TRANSITIONS.put("resumed", Lifecycle::resumed);
    TRANSITIONS.put("beginStop", Lifecycle::beginStop);
    TRANSITIONS.put("beginTeardown", Lifecycle::beginTeardown);
    TRANSITIONS.put("finish", s -> s.finish(Phase.PHASE_STOPPED, "Stopped", ""));

    ALLOWED.put("new", Set.of("beginLaunch"));
    ALLOWED.put("launching", Set.of("launched", "launchFailing"));
    ALLOWED.put("launch failing", Set.of("launchFailed"));
    ALLOWED.put("running", Set.of("paused", "beginStop", "beginTeardown"));
    ALLOWED.put("paused", Set.of("resumed", "beginStop", "beginTeardown"));
    ALLOWED.put("stopping", Set.of("finish"));
    ALLOWED.put("tearing down", Set.of("beginStop", "finish"));
    ALLOWED.put("stopped", Set.of("beginLaunch"));
    ALLOWED.put("failed", Set.of("beginLaunch"));
  }

  private static Lifecycle apply(Lifecycle s, Consumer<Lifecycle> transition) {
    transition.accept(s);
    return s;
  }

  static List<Arguments> table() {
    List<Arguments> rows = new ArrayList<>();
    for (String state : STATES.keySet()) {
      for (String transition : TRANSITIONS.keySet()) {
        rows.add(Arguments.of(state, transition, ALLOWED.get(state).contains(transition)));
      }
    }
    return rows;
  }

  @ParameterizedTest(name = "from {0}, {1} allowed: {2}")
  @MethodSource("table")
  @DisplayName("each transition is allowed from exactly the states of the table; any other throws")
  void transitionTable(String state, String transition, boolean allowed) {
    Lifecycle s = STATES.get(state).get();
    Runnable attempt = () -> TRANSITIONS.get(transition).accept(s);
    if (allowed) {
      attempt.run();
    } else {
      assertThatThrownBy(attempt::run).isInstanceOf(IllegalStateException.class)
          .hasMessageStartingWith("illegal transition: cannot");
    }
  }

  @Test
  @DisplayName("a launch, a pause, a resume and a stop report the phases and reasons the API shows")
  void aWholeLife() {
    Lifecycle s = new Lifecycle();
    assertThat(s.phase()).isEqualTo(Phase.PHASE_STOPPED);
    s.beginLaunch();
    assertThat(s.phase()).isEqualTo(Phase.PHASE_LAUNCHING);
    assertThat(s.reason()).isEqualTo("Launching");
    assertThat(s.launchComplete()).isFalse();
    s.recorded();
    s.launched();
    assertThat(s.phase()).isEqualTo(Phase.PHASE_RUNNING);
    assertThat(s.launchComplete()).isTrue();
    s.paused();
    s.resumed();
    s.beginStop();
    assertThat(s.phase()).isEqualTo(Phase.PHASE_STOPPING);
    assertThat(s.reason()).as("a stop keeps the reason until it ends").isEqualTo("Running");
    s.finish(Phase.PHASE_STOPPED, "Stopped", "guest powered off");
    assertThat(s.isActive()).isFalse();
    assertThat(s.activity()).isEqualTo(Lifecycle.Activity.IDLE);
    s.forget();
    s.deleted();
    assertThat(s.phase()).isEqualTo(Phase.PHASE_DELETED);
    assertThat(s.reason()).isEqualTo("Deleted");
  }

  @Test
  @DisplayName("a panic outranks a shutdown, whichever the guest reports first; a new launch forgets both")
  void guestEnd() {
    Lifecycle s = STATES.get("running").get();
    s.guestPanicked();
    s.guestShutDown();
    assertThat(s.guest()).isEqualTo(Lifecycle.GuestEnd.PANICKED);
    s.beginTeardown();
    s.finish(Phase.PHASE_FAILED, "GuestPanicked", "");
    s.beginLaunch();
    assertThat(s.guest()).isEqualTo(Lifecycle.GuestEnd.NONE);
    s.guestShutDown();
    assertThat(s.guest()).isEqualTo(Lifecycle.GuestEnd.SHUT_DOWN);
  }

  @Test
  @DisplayName("a record is written only between the state directory's creation and its removal, and never once detached")
  void presence() {
    Lifecycle s = new Lifecycle();
    assertThat(s.mayRecord()).isFalse();
    s.recorded();
    assertThat(s.mayRecord()).isTrue();
    s.forget();
    assertThat(s.mayRecord()).isFalse();
    assertThatThrownBy(s::forget).isInstanceOf(IllegalStateException.class);
    assertThatThrownBy(s::recorded).isInstanceOf(IllegalStateException.class);

    Lifecycle d = new Lifecycle();
    d.recorded();
    d.detach();
    assertThat(d.mayRecord()).isFalse();
  }

  @Test
  @DisplayName("only a supervisor that has done nothing yet takes a recorded state, and adoption moves it on")
  void restore() {
    Lifecycle s = new Lifecycle();
    s.restore(Phase.PHASE_STOPPING, "Running", "", true);
    assertThat(s.presence()).isEqualTo(Lifecycle.Presence.RECORDED);
    s.adopted(false);
    assertThat(s.phase()).isEqualTo(Phase.PHASE_PAUSED);
    assertThatThrownBy(() -> s.restore(Phase.PHASE_RUNNING, "", "", true)).isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("restore a record");

    Lifecycle unfinished = new Lifecycle();
    unfinished.restore(Phase.PHASE_LAUNCHING, "Launching", "", false);
    assertThatThrownBy(unfinished::foundNothingRunning).isInstanceOf(IllegalStateException.class);
    unfinished.abandoned("cleaned up");
    assertThat(unfinished.phase()).isEqualTo(Phase.PHASE_FAILED);
    assertThat(unfinished.reason()).isEqualTo("LaunchAbandoned");
  }
}
