package io.mpqemu.dist;

import com.tngtech.archunit.core.importer.ImportOption;
import com.tngtech.archunit.junit.AnalyzeClasses;
import com.tngtech.archunit.junit.ArchTest;
import com.tngtech.archunit.lang.ArchRule;
import io.mpqemu.testing.Boundaries;

/** The boundaries of dist, which assembles both services (STYLE habit 4), read from its main bytecode. */
@AnalyzeClasses(
    packages = "io.mpqemu",
    importOptions = {ImportOption.DoNotIncludeTests.class, Boundaries.ThisModulesMainClasses.class})
class DistArchitectureTest {

  @ArchTest
  static final ArchRule dist_uses_only_the_root_packages_of_the_services =
      Boundaries.mainCodeUsesOnlyTheRootPackagesOf("dist", "io.mpqemu.agent", "io.mpqemu.controlplane");

  @ArchTest
  static final ArchRule junixsocket_is_used_only_in_the_unix_package =
      Boundaries.junixsocketOnlyInTheUnixPackage();

  @ArchTest
  static final ArchRule generated_grpc_stubs_are_used_only_at_the_api_edge =
      Boundaries.generatedGrpcStubsOnlyAtTheEdges();

  @ArchTest
  static final ArchRule every_package_has_a_package_info = Boundaries.everyPackageHasAPackageInfo();
}
