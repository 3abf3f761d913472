package io.mpqemu.controlplane.intents;

import static org.assertj.core.api.Assertions.assertThat;

import io.mpqemu.controlplane.reconcile.CoreHarness;
import io.mpqemu.controlplane.store.StoreException;
import io.mpqemu.controlplane.store.StoredVm;
import io.mpqemu.controlplane.vm.VmError;
import io.mpqemu.v1.DesiredState;
import io.mpqemu.v1.EventType;
import io.mpqemu.v1.Phase;
import io.mpqemu.v1.RestartPolicy;
import io.mpqemu.v1.VmRef;
import io.mpqemu.v1.VmSpec;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The intents on a real store: compare-and-set on revisions, UpdateVm, and the kinds of refusal. */
class VmIntentsTest {

  private static final VmRef WEB = VmRef.newBuilder().setName("web").build();

  @TempDir
  Path dir;

  private CoreHarness h;
  private VmIntents intents;

  @BeforeEach
  void start() {
    h = new CoreHarness(dir);
    intents = h.core().intents();
    h.on(() -> intents.create(CoreHarness.spec("web", RestartPolicy.NEVER), DesiredState.STOPPED, "", ""));
  }

  @AfterEach
  void stop() {
    h.close();
  }

  @Test
  @DisplayName("start with the VM's revision succeeds and moves it on; with an older one it is refused naming the current one, and nothing changes")
  void startComparesRevisions() {
    StoredVm started = h.on(() -> intents.start(WEB, 1));
    assertThat(started.revision()).isEqualTo(2);
    assertThat(started.desiredState()).isEqualTo(DesiredState.RUNNING);

    VmError refused = (VmError) h.failure(() -> intents.stop(WEB, 0, false, 1));
    assertThat(refused.kind()).isEqualTo(VmError.Kind.PRECONDITION);
    assertThat(refused.getMessage()).isEqualTo("VM 'web' is at revision 2, not 1; read it again and decide with"
        + " expected_revision 2");
    assertThat(h.vm("web").desiredState()).isEqualTo(DesiredState.RUNNING);
    assertThat(h.vm("web").revision()).isEqualTo(2);
  }

  @Test
  @DisplayName("a start the store cannot take is UNAVAILABLE and changes nothing, in the write model or the store; once it is back the same start works")
  void startWhileTheStoreIsDown() {
    String id = h.vm("web").id();
    h.storeDown(true);
    Throwable refused = h.failure(() -> intents.start(WEB, 1));
    assertThat(refused).isInstanceOfSatisfying(StoreException.class,
        e -> assertThat(e.kind()).isEqualTo(StoreException.Kind.UNAVAILABLE));
    assertThat(h.vm("web").desiredState()).isEqualTo(DesiredState.STOPPED);
    assertThat(h.vm("web").revision()).isEqualTo(1);
    h.storeDown(false);
    h.run(() -> h.core().reconciler().reconcile()); // nothing of the refused start is written later either
    assertThat(h.stored(id).desiredState()).isEqualTo(DesiredState.STOPPED);

    assertThat(h.on(() -> intents.start(WEB, 1)).revision()).isEqualTo(2);
    assertThat(h.stored(id).desiredState()).isEqualTo(DesiredState.RUNNING);
  }

  @Test
  @DisplayName("a delete the store cannot take is UNAVAILABLE and the VM stays, so the delete can be retried")
  void deleteWhileTheStoreIsDown() {
    h.storeDown(true);
    assertThat(h.failure(() -> intents.delete(WEB, 0))).isInstanceOf(StoreException.class);
    h.storeDown(false);
    assertThat(h.vm("web")).isNotNull();
    h.on(() -> intents.delete(WEB, 0));
    assertThat(((VmError) h.failure(() -> intents.get(WEB))).kind()).isEqualTo(VmError.Kind.NOT_FOUND);
  }

  @Test
  @DisplayName("the node's last events about a VM, arriving while its deletion is being written, do not bring it back")
  void lateEventsDoNotResurrect() {
    h.ready("node-a", 1024);
    StoredVm web = h.on(() -> intents.start(WEB, 0));
    h.settle();
    assertThat(h.vm("web").status().getPhase()).isEqualTo(Phase.PHASE_RUNNING);

    h.on(() -> {
      io.vertx.core.Future<Void> deleted = intents.delete(WEB, 0);
      h.core().reconciler().onAgentEvent(io.mpqemu.v1.VmEvent.newBuilder().setVmId(web.id()).setVmName("web")
          .setNode("node-a").setType(EventType.VM_DELETED).setPhase(Phase.PHASE_DELETED).setReason("Deleted").build());
      return deleted;
    });
    h.settle();

    assertThat(((VmError) h.failure(() -> intents.get(WEB))).kind()).as("the store").isEqualTo(VmError.Kind.NOT_FOUND);
    assertThat(h.on(() -> io.vertx.core.Future.succeededFuture(h.core().records().get(web.id())))).isEmpty();
  }

  @Test
  @DisplayName("delete with a stale revision is refused and the VM stays; with the right one it goes")
  void deleteComparesRevisions() {
    assertThat(((VmError) h.failure(() -> intents.delete(WEB, 7))).kind()).isEqualTo(VmError.Kind.PRECONDITION);
    assertThat(h.vm("web")).isNotNull();

    h.on(() -> intents.delete(WEB, 1));
    assertThat(((VmError) h.failure(() -> intents.get(WEB))).kind()).isEqualTo(VmError.Kind.NOT_FOUND);
  }

  @Test
  @DisplayName("UpdateVm replaces the fields its mask names, bumps the revision once, records SPEC_UPDATED, and the store has it")
  void updateReplacesMaskedFields() {
    StoredVm before = h.vm("web");
    VmSpec values = VmSpec.newBuilder().putLabels("tier", "db").setRestartPolicy(RestartPolicy.ALWAYS)
        .setMemoryMib(9999).build(); // memory is not in the mask: ignored

    StoredVm updated = h.on(() -> intents.update(WEB, values, List.of("labels", "restart_policy"), 1));

    assertThat(updated.revision()).isEqualTo(2);
    assertThat(updated.spec().getLabelsMap()).containsExactly(Map.entry("tier", "db"));
    assertThat(updated.spec().getRestartPolicy()).isEqualTo(RestartPolicy.ALWAYS);
    assertThat(updated.spec().getMemoryMib()).isEqualTo(before.spec().getMemoryMib());
    assertThat(h.on(() -> intents.get(WEB)).spec()).as("read back from the store").isEqualTo(updated.spec());
    assertThat(h.events()).filteredOn(e -> e.getType() == EventType.SPEC_UPDATED).singleElement()
        .satisfies(e -> assertThat(e.getMessage()).isEqualTo("replaced labels, restart_policy; now at revision 2"));

    StoredVm again = h.on(() -> intents.update(WEB, values, List.of("labels", "restart_policy"), 0));
    assertThat(again.revision()).as("the same values change nothing").isEqualTo(2);
  }

  @Test
  @DisplayName("UpdateVm refuses a field it cannot change, an empty mask, a bad label and a stale revision, as INVALID or PRECONDITION")
  void updateRefusals() {
    VmSpec values = VmSpec.newBuilder().putLabels("tier", "db").build();
    VmError memory = (VmError) h.failure(() -> intents.update(WEB, values, List.of("memory_mib"), 0));
    assertThat(memory.kind()).isEqualTo(VmError.Kind.INVALID);
    assertThat(memory.getMessage()).isEqualTo("update_mask may name labels, node_selector, restart_policy, not"
        + " 'memory_mib'; to change anything else, create a new VM");
    assertThat(((VmError) h.failure(() -> intents.update(WEB, values, List.of(), 0))).kind()).isEqualTo(VmError.Kind.INVALID);
    VmSpec badLabel = VmSpec.newBuilder().putLabels("Not A Key!", "x").build();
    assertThat(((VmError) h.failure(() -> intents.update(WEB, badLabel, List.of("labels"), 0))).kind())
        .isEqualTo(VmError.Kind.INVALID);
    assertThat(((VmError) h.failure(() -> intents.update(WEB, values, List.of("labels"), 5))).kind())
        .isEqualTo(VmError.Kind.PRECONDITION);
    assertThat(h.vm("web").revision()).isEqualTo(1);
  }

  @Test
  @DisplayName("a new node selector places a VM that was waiting for a node carrying the old one")
  void updatedSelectorPlacesAWaitingVm() {
    h.on(() -> intents.update(WEB, VmSpec.newBuilder().putNodeSelector("zone", "b").build(), List.of("node_selector"), 0));
    h.on(() -> intents.start(WEB, 0));
    h.ready("node-a", 1024);
    assertThat(h.vm("web").status().getPhase()).isEqualTo(Phase.PHASE_PENDING);

    h.on(() -> intents.update(WEB, VmSpec.getDefaultInstance(), List.of("node_selector"), 0));
    h.settle();

    h.agents.assertCommands("launch node-a web");
    assertThat(h.vm("web").status().getPhase()).isEqualTo(Phase.PHASE_RUNNING);
  }
}
