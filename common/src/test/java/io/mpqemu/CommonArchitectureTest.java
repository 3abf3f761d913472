package io.mpqemu;

import com.tngtech.archunit.core.importer.ImportOption;
import com.tngtech.archunit.junit.AnalyzeClasses;
import com.tngtech.archunit.junit.ArchTest;
import com.tngtech.archunit.lang.ArchRule;
import io.mpqemu.testing.Boundaries;

/**
 * The boundaries of common, the shared plumbing (STYLE habit 4), read from its main bytecode. Only
 * common's own classes are imported (not proto's generated ones nor test-fixtures', though they share
 * the io.mpqemu prefix): see {@link Boundaries.ThisModulesMainClasses}.
 */
@AnalyzeClasses(
    packages = "io.mpqemu",
    importOptions = {ImportOption.DoNotIncludeTests.class, Boundaries.ThisModulesMainClasses.class})
class CommonArchitectureTest {

  @ArchTest
  static final ArchRule junixsocket_is_used_only_in_the_unix_package =
      Boundaries.junixsocketOnlyInTheUnixPackage();

  @ArchTest
  static final ArchRule generated_grpc_stubs_are_used_only_in_the_grpc_and_http_helpers =
      Boundaries.generatedGrpcStubsOnlyAtTheEdges();

  @ArchTest
  static final ArchRule common_references_neither_service_nor_dist =
      Boundaries.mainCodeReferencesNone("common",
          "common is what both services share and neither owns: move the code that needs a service into "
              + "that service, or move what it needs from the service down into common",
          "io.mpqemu.agent..", "io.mpqemu.controlplane..", "io.mpqemu.dist..");

  @ArchTest
  static final ArchRule jna_is_used_only_in_the_sys_packages = Boundaries.jnaOnlyInTheSysPackage();

  @ArchTest
  static final ArchRule every_package_has_a_package_info = Boundaries.everyPackageHasAPackageInfo();
}
