package io.mpqemu.testing;

import static com.tngtech.archunit.base.DescribedPredicate.not;
import static com.tngtech.archunit.core.domain.JavaClass.Predicates.assignableTo;
import static com.tngtech.archunit.core.domain.JavaClass.Predicates.resideInAnyPackage;
import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.all;
import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;

import com.tngtech.archunit.base.DescribedPredicate;
import com.tngtech.archunit.core.domain.Dependency;
import com.tngtech.archunit.core.domain.JavaClass;
import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.domain.JavaPackage;
import com.tngtech.archunit.core.importer.ImportOption;
import com.tngtech.archunit.core.importer.Location;
import com.tngtech.archunit.lang.AbstractClassesTransformer;
import com.tngtech.archunit.lang.ArchCondition;
import com.tngtech.archunit.lang.ArchRule;
import com.tngtech.archunit.lang.ConditionEvents;
import com.tngtech.archunit.lang.SimpleConditionEvent;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.Comparator;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

/**
 * The module boundary rules (STYLE habit 4), shared by each module's {@code *ArchitectureTest}.
 *
 * <p>The public face of each module, which other modules may reference:
 *
 * <ul>
 *   <li>proto: {@code io.mpqemu.v1}, the contract (but see {@link #GENERATED_GRPC_STUBS});
 *   <li>common: all of its packages ({@code io.mpqemu.spec, fleet, grpc, http, metrics, net, wire,
 *       errors}), shared plumbing is its whole purpose;
 *   <li>node-agent: its root package {@code io.mpqemu.agent} only ({@code AgentConfig},
 *       {@code NodeAgentVerticle}, ...), for dist's embedded mode;
 *   <li>control-plane: its root package {@code io.mpqemu.controlplane} only ({@code ServeCommand},
 *       {@code EmbeddedAgent}, ...), for dist;
 *   <li>dist: nothing, it is the top; test-fixtures: nothing in main code (test scope only).
 * </ul>
 *
 * <p>Every rule here reads bytecode, not source text, so a fully qualified name or a static import
 * counts as much as an import statement.
 */
public final class Boundaries {

  private Boundaries() {}

  /**
   * The classes vertx-grpc-protoc-plugin2 generates from our services: {@code VmService} (the
   * service interface), {@code VmServiceService}, {@code VmServiceGrpcService}, {@code
   * VmServiceClient}, {@code VmServiceGrpcClient} (and its {@code VmServiceGrpcClientImpl}), the
   * same for {@code NodeAgentService}, and their nested classes. Protobuf messages ({@code VmSpec},
   * {@code VmServiceProto}, ...) are not among them.
   */
  public static final DescribedPredicate<JavaClass> GENERATED_GRPC_STUBS =
      DescribedPredicate.describe(
          "are generated gRPC service or client stubs (io.mpqemu.v1.*Service, *Client, *GrpcService, *GrpcClient)",
          named(Pattern.compile("io\\.mpqemu\\.v1\\.\\w+(Service|Client|GrpcClientImpl)(\\$.*)?")));

  /** gRPC itself: grpc-java, Vert.x gRPC, and our generated stubs. */
  public static final DescribedPredicate<JavaClass> GRPC =
      resideInAnyPackage("io.grpc..", "io.vertx.grpc..")
          .or(GENERATED_GRPC_STUBS)
          .as("are gRPC classes (io.grpc.., io.vertx.grpc.., generated stubs)");

  /** Anything that touches files, sockets, databases or processes. */
  public static final DescribedPredicate<JavaClass> IO =
      resideInAnyPackage(
              "java.io..", "java.nio.file..", "java.nio.channels..", "java.net..", "java.sql..",
              "javax.sql..", "java.rmi..",
              "io.vertx.core.file..", "io.vertx.core.net..", "io.vertx.core.http..",
              "io.vertx.core.datagram..", "io.vertx.core.dns..", "io.vertx.ext.web..",
              "io.vertx.jdbcclient..", "io.vertx.sqlclient..", "io.netty..",
              "org.sqlite..", "org.postgresql..", "org.newsclub..")
          .or(DescribedPredicate.describe("processes",
              named(Pattern.compile("java\\.lang\\.(Process|ProcessBuilder|ProcessHandle|Runtime)(\\$.*)?"))))
          .as("do I/O (java.io, java.nio.file, java.net, JDBC, Vert.x file/net/http, processes, sockets)");

  // ---------------------------------------------------------------------------------------------
  // Rule 1

  /** junixsocket appears in one package only. */
  public static ArchRule junixsocketOnlyInTheUnixPackage() {
    return noClasses()
        .that().resideOutsideOfPackage("io.mpqemu.agent.unix")
        .should().dependOnClassesThat().resideInAPackage("org.newsclub..")
        .as("junixsocket (org.newsclub..) is used in io.mpqemu.agent.unix only")
        .because("socketpairs and fd passing live behind the ports of io.mpqemu.agent.unix (SocketPairs, "
            + "DevicePair, UnixQmpTransport): call those, or add a small port there, instead of importing "
            + "junixsocket elsewhere");
  }

  /** JNA (native calls) appears in two small packages only. */
  public static ArchRule jnaOnlyInTheSysPackage() {
    return noClasses()
        .that().resideOutsideOfPackages("io.mpqemu.agent.sys", "io.mpqemu.access.sys")
        .should().dependOnClassesThat().resideInAPackage("com.sun.jna..")
        .as("JNA (com.sun.jna..) is used in io.mpqemu.agent.sys and io.mpqemu.access.sys only")
        .because("native calls live behind small classes: the agent's (posix_spawn, openat, waitpid) in "
            + "io.mpqemu.agent.sys (PosixSpawn, Beneath, ChildExit, Fd), a caller's identity (SO_PEERCRED, "
            + "the user database) in io.mpqemu.access.sys: call those, or add one there");
  }

  // ---------------------------------------------------------------------------------------------
  // Rule 3

  /**
   * The generated service and client stubs stay at the edges: the API packages (gRPC services), the
   * dispatch adapter (agent clients), the CLIs (gRPC clients) and the generic helpers in
   * io.mpqemu.grpc and io.mpqemu.http. Verticles may name them too: a verticle wires the generated
   * {@code *GrpcService} to its listener (STYLE's API-edge model), here by its {@code SERVICE_NAME};
   * Vert.x 5 verticles are {@code Deployable}s ({@code VerticleBase}), older ones {@code Verticle}s.
   */
  public static ArchRule generatedGrpcStubsOnlyAtTheEdges() {
    return noClasses()
        .that().resideOutsideOfPackages("..api..", "..dispatch..", "..cli..", "io.mpqemu.grpc..",
            "io.mpqemu.http..", "io.mpqemu.v1..")
        .and(not(assignableTo("io.vertx.core.Deployable").or(assignableTo("io.vertx.core.Verticle"))))
        .should().dependOnClassesThat(GENERATED_GRPC_STUBS)
        .as("generated gRPC services and clients are used only in ..api.., ..dispatch.., ..cli.., "
            + "io.mpqemu.grpc, io.mpqemu.http and by verticles")
        .because("they are the API edge: a gRPC service class belongs in an api package, a client of another "
            + "service in dispatch or cli; everything else gets plain classes returning Future from there");
  }

  // ---------------------------------------------------------------------------------------------
  // Rule 4

  /** Main code of a module references none of the given packages (other modules or their internals). */
  public static ArchRule mainCodeReferencesNone(String module, String why, String... packages) {
    return noClasses()
        .should().dependOnClassesThat().resideInAnyPackage(packages)
        .as(module + " main code references nothing in " + String.join(", ", packages))
        .because(why);
  }

  /** What dist may see of the services: their root packages only, never a subpackage. */
  public static ArchRule mainCodeUsesOnlyTheRootPackagesOf(String module, String... servicePackages) {
    DescribedPredicate<JavaClass> internals = DescribedPredicate.describe(
        "are in a subpackage of " + String.join(" or ", servicePackages),
        c -> Arrays.stream(servicePackages).anyMatch(p -> c.getPackageName().startsWith(p + ".")));
    return noClasses()
        .should().dependOnClassesThat(internals)
        .as(module + " main code uses only the root packages " + String.join(", ", servicePackages)
            + " of the services, never their internals")
        .because("a service's subpackages are its internals: if " + module + " needs something from one, "
            + "expose it from the service's root package (as AgentConfig, NodeAgentVerticle, ServeCommand, "
            + "EmbeddedAgent are) or move it to common");
  }

  // ---------------------------------------------------------------------------------------------
  // Rule 5

  /**
   * The rule as it should be for a domain package: depend on {@code java.*} without I/O, on {@code
   * io.vertx.core.Future} and on the module's domain packages, nothing else (no generated protobuf or
   * gRPC types, no adapters, no logging framework). Today's exceptions are frozen by {@link
   * #assertExactlyTheFrozenViolations}.
   */
  public static ArchRule domainPackageIsPure(String domainPackage, String... moduleDomainPackages) {
    String[] domain = Arrays.stream(moduleDomainPackages).map(p -> p + "..").toArray(String[]::new);
    DescribedPredicate<JavaClass> allowed =
        DescribedPredicate.describe(
            "java.* without I/O, io.vertx.core.Future, " + String.join(", ", moduleDomainPackages),
            c -> allowedInDomain(c, domain));
    return noClasses()
        .that().resideInAPackage(domainPackage + "..")
        .should().dependOnClassesThat(not(allowed))
        .as("domain package " + domainPackage + " depends only on " + allowed.getDescription())
        .because("it is the core (STYLE habit 4): take a domain type or a port interface (one to five "
            + "methods, declared in the domain package) instead, convert protobuf <-> domain in api or "
            + "dispatch, do I/O in an adapter, map errors to gRPC status codes at the API edge");
  }

  private static boolean allowedInDomain(JavaClass c, String[] domainPackages) {
    JavaClass base = c.isArray() ? c.getBaseComponentType() : c;
    if (base.isPrimitive()) {
      return true;
    }
    if (base.getName().equals("io.vertx.core.Future")) {
      return true;
    }
    if (base.getPackageName().startsWith("java.")) {
      return !IO.test(base);
    }
    return resideInAnyPackage(domainPackages).test(base);
  }

  /**
   * Evaluates a rule that today's code does not keep yet and compares its violations, as lines
   * {@code origin -> target} (top-level classes), with a reviewed allow-list on the test class path.
   * The list can only shrink: a violation not on it fails (fix the code), and a line that no longer
   * matches a violation fails too (delete it), so the list always says exactly what is left to fix.
   *
   * @param allowList a class path resource, under {@code src/test/resources}; lines are
   *     {@code origin -> target}, blank lines and {@code #} comments are ignored
   */
  public static void assertExactlyTheFrozenViolations(ArchRule rule, JavaClasses classes, String allowList) {
    Set<String> actual = new TreeSet<>();
    rule.evaluate(classes).handleViolations((Collection<Dependency> dependencies, String message) ->
        dependencies.forEach(d -> actual.add(topLevel(d.getOriginClass()) + " -> " + topLevel(d.getTargetClass()))));
    List<String> frozenLines = readAllowList(allowList);
    Set<String> frozen = new TreeSet<>(frozenLines);

    List<String> problems = new ArrayList<>();
    if (frozen.size() != frozenLines.size()) {
      problems.add("src/test/resources/" + allowList + " lists a line twice: keep each line once.");
    }
    Set<String> added = new TreeSet<>(actual);
    added.removeAll(frozen);
    if (!added.isEmpty()) {
      problems.add("New violations of the rule '" + rule.getDescription() + "':\n    "
          + String.join("\n    ", added)
          + "\n  Fix the code: " + because(rule)
          + ". Do not add them to src/test/resources/" + allowList + ": that list only shrinks.");
    }
    Set<String> fixed = new TreeSet<>(frozen);
    fixed.removeAll(actual);
    if (!fixed.isEmpty()) {
      problems.add("Frozen violations that no longer exist (well done):\n    "
          + String.join("\n    ", fixed)
          + "\n  Delete these lines from src/test/resources/" + allowList
          + " so that they cannot come back.");
    }
    if (!problems.isEmpty()) {
      throw new AssertionError(String.join("\n", problems));
    }
  }

  private static String because(ArchRule rule) {
    String description = rule.getDescription();
    int at = description.indexOf(", because ");
    return at < 0 ? description : description.substring(at + ", because ".length());
  }

  private static String topLevel(JavaClass c) {
    JavaClass base = c.isArray() ? c.getBaseComponentType() : c;
    String name = base.getName();
    int nested = name.indexOf('$');
    return nested < 0 ? name : name.substring(0, nested);
  }

  private static List<String> readAllowList(String resource) {
    try (InputStream in = Thread.currentThread().getContextClassLoader().getResourceAsStream(resource)) {
      if (in == null) {
        throw new AssertionError("src/test/resources/" + resource + " is missing: it lists the frozen "
            + "violations, one 'origin -> target' a line (an empty file if there are none)");
      }
      return new String(in.readAllBytes(), StandardCharsets.UTF_8).lines()
          .map(String::strip)
          .filter(line -> !line.isEmpty() && !line.startsWith("#"))
          .map(line -> line.replaceAll("\\s*->\\s*", " -> "))
          .collect(Collectors.toList());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  // ---------------------------------------------------------------------------------------------
  // package-info.java everywhere (STYLE habit 11)

  /** Every package of main code has a package-info.java (whose javadoc says what lives there). */
  public static ArchRule everyPackageHasAPackageInfo() {
    return all(new AbstractClassesTransformer<JavaPackage>("packages of main code") {
          @Override
          public Iterable<JavaPackage> doTransform(JavaClasses classes) {
            Set<JavaPackage> packages = new TreeSet<>(Comparator.comparing(JavaPackage::getName));
            classes.forEach(c -> packages.add(c.getPackage()));
            return packages;
          }
        })
        .should(new ArchCondition<JavaPackage>("have a package-info.java") {
          @Override
          public void check(JavaPackage pkg, ConditionEvents events) {
            boolean present = pkg.tryGetPackageInfo().isPresent();
            events.add(new SimpleConditionEvent(pkg, present, "package " + pkg.getName()
                + (present ? " has" : " has no") + " package-info.java"));
          }
        })
        .as("every package of main code has a package-info.java")
        .because("STYLE habit 11: add one whose javadoc says in one sentence what lives in the package");
  }

  // ---------------------------------------------------------------------------------------------
  // What to import

  /**
   * Imports the main classes of the module under test only: those under its {@code target/classes}
   * (surefire runs in the module's directory). Other modules' classes, the generated classes of proto
   * among them, and test classes are not imported, so they cost no time and raise no violation; they
   * still appear as the targets of dependencies. Use it with {@code @AnalyzeClasses(packages =
   * "io.mpqemu")}: the location, not the package, decides what belongs to the module, so a class a
   * module puts into another module's namespace is checked too.
   */
  public static final class ThisModulesMainClasses implements ImportOption {
    private static final String MAIN_CLASSES = Path.of("target", "classes").toAbsolutePath().toUri().getPath();

    @Override
    public boolean includes(Location location) {
      String path = location.asURI().getPath(); // null inside a jar: never this module's main classes
      return path != null && path.startsWith(MAIN_CLASSES);
    }
  }

  private static java.util.function.Predicate<JavaClass> named(Pattern pattern) {
    return c -> pattern.matcher(c.getName()).matches();
  }
}
