package io.mpqemu.controlplane;

import static com.tngtech.archunit.core.domain.JavaClass.Predicates.equivalentTo;
import static com.tngtech.archunit.core.domain.JavaClass.Predicates.resideInAnyPackage;
import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;

import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ImportOption;
import com.tngtech.archunit.junit.AnalyzeClasses;
import com.tngtech.archunit.junit.ArchTest;
import com.tngtech.archunit.lang.ArchRule;
import io.mpqemu.testing.Boundaries;

/**
 * The control plane's boundaries (STYLE habit 4), read from its main bytecode.
 *
 * <p>Frozen violations: the domain rules below are written as they should be (io.mpqemu.controlplane.vm
 * and .scheduling depend on java.* without I/O, io.vertx.core.Future and each other only). What today's
 * code still does against them is listed, one {@code class -> dependency} a line, in the reviewed,
 * committed files src/test/resources/architecture/frozen/&lt;package&gt;.txt. We chose those
 * hand-written lists over ArchUnit's FreezingArchRule store because they are exact in both directions:
 * a new violation fails the test, and so does a fixed one until its line is deleted, so a list can only
 * shrink, is never rewritten by a test run, and reads as the to-do list for converting at the edge.
 */
@AnalyzeClasses(
    packages = "io.mpqemu",
    importOptions = {ImportOption.DoNotIncludeTests.class, Boundaries.ThisModulesMainClasses.class})
class ControlPlaneArchitectureTest {

  private static final String[] DOMAIN = {"io.mpqemu.controlplane.vm", "io.mpqemu.controlplane.scheduling"};

  @ArchTest
  static final ArchRule junixsocket_is_used_only_in_the_unix_package =
      Boundaries.junixsocketOnlyInTheUnixPackage();

  @ArchTest
  static final ArchRule scheduling_does_no_io_and_knows_no_grpc =
      noClasses()
          .that().resideInAPackage("io.mpqemu.controlplane.scheduling..")
          .should().dependOnClassesThat(Boundaries.IO.or(Boundaries.GRPC))
          .as("io.mpqemu.controlplane.scheduling uses no I/O and no gRPC classes")
          .because("placement is a pure function of a spec and node views: whatever it needs to know "
              + "(capacity, node state) is passed in by the caller, which reads it from the store or the agents");

  @ArchTest
  static final ArchRule policies_are_pure_functions =
      noClasses()
          .that().resideInAPackage("io.mpqemu.controlplane.policy..")
          .should().dependOnClassesThat(Boundaries.IO.or(Boundaries.GRPC)
              .or(resideInAnyPackage("io.vertx..", "org.slf4j..", "io.mpqemu.controlplane.records..",
                  "io.mpqemu.controlplane.reconcile..", "io.mpqemu.controlplane.intents..", "io.mpqemu.controlplane.dispatch.."))
              .or(equivalentTo(java.time.Clock.class)))
          .as("io.mpqemu.controlplane.policy holds pure functions: no I/O, no clock, no Vert.x, no logging, no collaborators")
          .because("the restart policy and the status fold are decided from values passed in (the VM, the report, the"
              + " back-off limit); their callers read the clock, log and write, so the policies are tested as plain functions");

  @ArchTest
  static final ArchRule only_the_reconciler_commands_agents =
      noClasses()
          .that().resideOutsideOfPackages("io.mpqemu.controlplane.reconcile..", "io.mpqemu.controlplane.dispatch..",
              "io.mpqemu.controlplane")
          .should().dependOnClassesThat(equivalentTo(io.mpqemu.controlplane.reconcile.Agents.class))
          .as("only the reconciler (and its adapter and the wiring) know the Agents port")
          .because("intents store what should be and never call an agent; the reconciler alone acts on nodes");

  @ArchTest
  static final ArchRule intents_never_call_agents =
      noClasses()
          .that().resideInAPackage("io.mpqemu.controlplane.intents..")
          .should().dependOnClassesThat(resideInAnyPackage("io.mpqemu.controlplane.dispatch..", "io.mpqemu.controlplane.reconcile.."))
          .as("intents depend on no agent client and on the reconciler only through the Convergence port")
          .because("an intent is stored and answered; converging nodes to it is the reconciler's job");

  @ArchTest
  static final ArchRule generated_grpc_stubs_are_used_only_in_api_dispatch_and_cli =
      Boundaries.generatedGrpcStubsOnlyAtTheEdges();

  @ArchTest
  static final ArchRule the_control_plane_never_references_the_agent_or_dist =
      Boundaries.mainCodeReferencesNone("control-plane",
          "the control plane knows agents only through the NodeAgentService contract (io.mpqemu.v1) and "
              + "the event bus; what both services need belongs in common, the embedded agent in dist",
          "io.mpqemu.agent..", "io.mpqemu.dist..");

  @ArchTest
  static final ArchRule every_package_has_a_package_info = Boundaries.everyPackageHasAPackageInfo();

  @ArchTest
  static void the_vm_domain_package_has_exactly_its_frozen_violations_and_no_new_one(JavaClasses classes) {
    Boundaries.assertExactlyTheFrozenViolations(
        Boundaries.domainPackageIsPure("io.mpqemu.controlplane.vm", DOMAIN),
        classes, "architecture/frozen/io.mpqemu.controlplane.vm.txt");
  }

  @ArchTest
  static void the_scheduling_domain_package_has_exactly_its_frozen_violations_and_no_new_one(JavaClasses classes) {
    Boundaries.assertExactlyTheFrozenViolations(
        Boundaries.domainPackageIsPure("io.mpqemu.controlplane.scheduling", DOMAIN),
        classes, "architecture/frozen/io.mpqemu.controlplane.scheduling.txt");
  }
}
