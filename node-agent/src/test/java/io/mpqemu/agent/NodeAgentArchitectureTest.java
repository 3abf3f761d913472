package io.mpqemu.agent;

import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ImportOption;
import com.tngtech.archunit.junit.AnalyzeClasses;
import com.tngtech.archunit.junit.ArchTest;
import com.tngtech.archunit.lang.ArchRule;
import io.mpqemu.testing.Boundaries;

/**
 * The node agent's boundaries (STYLE habit 4), read from its main bytecode.
 *
 * <p>Frozen violations: the domain rule below is written as it should be (io.mpqemu.agent.vm depends
 * on java.* without I/O, io.vertx.core.Future and itself only). What today's code still does against
 * it is listed, one {@code class -> dependency} a line, in the reviewed, committed file
 * src/test/resources/architecture/frozen/io.mpqemu.agent.vm.txt. We chose that hand-written list over
 * ArchUnit's FreezingArchRule store because it is exact in both directions: a new violation fails the
 * test, and so does a fixed one until its line is deleted, so the list can only shrink, is never
 * rewritten by a test run, and reads as the to-do list for moving I/O and protobuf types out.
 */
@AnalyzeClasses(
    packages = "io.mpqemu",
    importOptions = {ImportOption.DoNotIncludeTests.class, Boundaries.ThisModulesMainClasses.class})
class NodeAgentArchitectureTest {

  @ArchTest
  static final ArchRule junixsocket_is_used_only_in_the_unix_package =
      Boundaries.junixsocketOnlyInTheUnixPackage();

  @ArchTest
  static final ArchRule jna_is_used_only_in_the_sys_package = Boundaries.jnaOnlyInTheSysPackage();

  @ArchTest
  static final ArchRule generated_grpc_stubs_are_used_only_at_the_api_edge_and_in_the_cli =
      Boundaries.generatedGrpcStubsOnlyAtTheEdges();

  @ArchTest
  static final ArchRule the_agent_never_references_the_control_plane_or_dist =
      Boundaries.mainCodeReferencesNone("node-agent",
          "an agent knows its control plane only through the NodeAgentService contract (io.mpqemu.v1) "
              + "and the event bus; what both services need belongs in common",
          "io.mpqemu.controlplane..", "io.mpqemu.dist..");

  @ArchTest
  static final ArchRule every_package_has_a_package_info = Boundaries.everyPackageHasAPackageInfo();

  @ArchTest
  static final ArchRule the_fence_is_pure_its_record_an_adapter_in_state =
      Boundaries.domainPackageIsPure("io.mpqemu.agent.fence", "io.mpqemu.agent.fence");

  static final ArchRule VM_DOMAIN = Boundaries.domainPackageIsPure("io.mpqemu.agent.vm", "io.mpqemu.agent.vm");

  @ArchTest
  static void the_vm_domain_package_has_exactly_its_frozen_violations_and_no_new_one(JavaClasses classes) {
    Boundaries.assertExactlyTheFrozenViolations(VM_DOMAIN, classes, "architecture/frozen/io.mpqemu.agent.vm.txt");
  }
}
