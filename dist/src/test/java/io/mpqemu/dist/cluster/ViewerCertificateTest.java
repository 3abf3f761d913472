package io.mpqemu.dist.cluster;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.util.JsonFormat;
import io.mpqemu.controlplane.ControlPlaneConfig;
import io.mpqemu.controlplane.ControlPlaneVerticle;
import io.mpqemu.dist.ControlPlaneJar;
import io.mpqemu.fleet.ClusterTls;
import io.mpqemu.testing.ClusterCerts;
import io.mpqemu.v1.DesiredState;
import io.mpqemu.v1.Vm;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

/**
 * The control plane's API on loopback TCP under mutual TLS, called through the CLI of
 * {@code control-plane.jar} with certificates made by {@code deploy/make-certs.sh}: a {@code viewer}
 * certificate reads, a {@code client} certificate is an operator and owns what it creates, and a
 * certificate of any other role does not get past the handshake.
 */
@DisplayName("Viewer and client certificates on the control plane's TLS API")
class ViewerCertificateTest {

  private static final String DENIED_CREATE = "error: PERMISSION_DENIED: mpqemu.v1.VmService/CreateVm needs the"
      + " operator role; certificate 'CN=watcher,OU=viewer,O=mpqemu' (role viewer) has the viewer role (operator: a"
      + " certificate with role client)";

  private static Path root;
  private static ClusterCerts pki;
  private static Vertx vertx;
  private static String server;
  /** A VM spec file's text; the control plane needs no image for a VM it only stores. */
  private static final String SPEC = """
      {"name": "%s", "memoryMib": 64, "devices": [
        {"id": "lsi0", "driver": "lsi53c895a", "disks": [{"id": "boot", "image": "boot.img"}]}]}
      """;

  @BeforeAll
  static void start() throws Exception {
    root = Files.createTempDirectory(Path.of("/tmp"), "mpqemu-viewer-");
    pki = ClusterCerts.ca(root.resolve("pki"))
        .make("control-plane", "cp", "--ip", "127.0.0.1")
        .make("client", "admin")
        .make("viewer", "watcher")
        .make("node-agent", "agent-a", "--ip", "127.0.0.1");
    vertx = Vertx.builder().with(new VertxOptions().setPreferNativeTransport(true)).build();
    ControlPlaneConfig d = ControlPlaneConfig.defaults(root.resolve("cp"));
    ControlPlaneVerticle cp = new ControlPlaneVerticle(new ControlPlaneConfig(root.resolve("cp"), List.of("tcp:127.0.0.1:0"),
        d.notReadyAfter(), d.lostAfter(), d.reconcileInterval(), d.callDeadline(), d.restartBackoffMax(), d.limits()),
        ClusterTls.load(pki.ca(), pki.crt("cp"), pki.key("cp")));
    ThreeHosts.await(vertx.deployVerticle(cp));
    server = cp.boundAddresses().get(0);
    assertThat(server).startsWith("tcp:127.0.0.1:");
  }

  @AfterAll
  static void stop() throws Exception {
    if (vertx != null) {
      ThreeHosts.await(vertx.close());
    }
    if (root != null) {
      try (Stream<Path> files = Files.walk(root)) {
        files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
      }
    }
  }

  private record Run(int code, String out, String err) {}

  /** The jar's command line, in this JVM, as the holder of certificate {@code cert}. */
  private static Run cli(String cert, String... args) {
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    CommandLine cl = ControlPlaneJar.commandLine();
    cl.setOut(new PrintWriter(out, true));
    cl.setErr(new PrintWriter(err, true));
    List<String> all = new ArrayList<>(List.of("--server", server, "--tls-ca", pki.ca().toString(),
        "--tls-cert", pki.crt(cert).toString(), "--tls-key", pki.key(cert).toString()));
    all.addAll(List.of(args));
    int code = cl.execute(all.toArray(String[]::new));
    return new Run(code, out.toString(), err.toString());
  }

  /** {@code vm create --stopped} of a VM named {@code name}: stored, never placed, so no agent is needed. */
  private static Run create(String cert, String name) throws Exception {
    Path file = root.resolve(name + ".json");
    Files.writeString(file, SPEC.formatted(name));
    return cli(cert, "vm", "create", "-f", file.toString(), "--stopped", "--output", "json");
  }

  private static Vm vm(String json) throws Exception {
    Vm.Builder vm = Vm.newBuilder();
    JsonFormat.parser().merge(json, vm);
    return vm.build();
  }

  @Test
  @DisplayName("a viewer certificate lists, gets and reads events, and CreateVm and DeleteVm are PERMISSION_DENIED naming the operator role")
  void viewerReadsOnly() throws Exception {
    Run made = create("admin", "seen");
    assertThat(made.code()).as(made.err()).isZero();

    Run list = cli("watcher", "vm", "list");
    assertThat(list.code()).as(list.err()).isZero();
    assertThat(list.out()).contains("seen").contains("STOPPED");
    Run get = cli("watcher", "vm", "get", "seen", "--output", "json");
    assertThat(get.code()).as(get.err()).isZero();
    assertThat(vm(get.out()).getOwner()).isEqualTo("cert:admin");
    Run nodes = cli("watcher", "node", "list");
    assertThat(nodes.code()).as(nodes.err()).isZero();
    Run events = cli("watcher", "events", "--vm", "seen");
    assertThat(events.code()).as(events.err()).isZero();
    assertThat(events.out()).contains("seen");

    Run refused = create("watcher", "by-viewer");
    assertThat(refused.code()).as("the control plane refused: exit 1").isEqualTo(1);
    assertThat(refused.out()).isEmpty();
    assertThat(refused.err().strip()).isEqualTo(DENIED_CREATE);
    Run delete = cli("watcher", "vm", "delete", "seen");
    assertThat(delete.code()).isEqualTo(1);
    assertThat(delete.err()).startsWith("error: PERMISSION_DENIED: mpqemu.v1.VmService/DeleteVm needs the operator role;");

    assertThat(cli("admin", "vm", "get", "by-viewer").code()).as("no VM was created: NOT_FOUND").isEqualTo(4);
    assertThat(cli("admin", "vm", "get", "seen").code()).as("nor deleted").isZero();
  }

  @Test
  @DisplayName("a client certificate is an operator: CreateVm succeeds and the VM's owner is cert:<CN>")
  void clientIsOperatorAndOwner() throws Exception {
    Run made = create("admin", "owned");

    assertThat(made.code()).as(made.err()).isZero();
    Vm vm = vm(made.out());
    assertThat(vm.getSpec().getName()).isEqualTo("owned");
    assertThat(vm.getDesiredState()).isEqualTo(DesiredState.STOPPED);
    assertThat(vm.getOwner()).isEqualTo("cert:admin");
    assertThat(cli("admin", "vm", "delete", "owned").code()).isZero();
    assertThat(cli("admin", "vm", "get", "owned").code()).isEqualTo(4);
  }

  @Test
  @DisplayName("node-agent certificates of the same CA are refused at the handshake; client and viewer ones get in, and"
      + " control-plane ones (a standby forwards writes to the leader)")
  void otherRolesRefusedAtHandshake() throws Exception {
    int port = Integer.parseInt(server.substring(server.lastIndexOf(':') + 1));
    assertThat(TlsProbe.tls("127.0.0.1", port, pki.keyStore("agent-a"), true)).isEqualTo(TlsProbe.Outcome.REFUSED);
    assertThat(TlsProbe.tls("127.0.0.1", port, pki.keyStore("cp"), true)).isEqualTo(TlsProbe.Outcome.ACCEPTED);
    assertThat(TlsProbe.tls("127.0.0.1", port, null, true)).as("no certificate").isEqualTo(TlsProbe.Outcome.REFUSED);
    assertThat(TlsProbe.tls("127.0.0.1", port, pki.keyStore("watcher"), true)).isEqualTo(TlsProbe.Outcome.ACCEPTED);
    assertThat(TlsProbe.tls("127.0.0.1", port, pki.keyStore("admin"), true)).isEqualTo(TlsProbe.Outcome.ACCEPTED);

    Run agent = cli("agent-a", "vm", "list");
    assertThat(agent.code()).as("unreachable: exit 3").isEqualTo(3);
    assertThat(agent.out()).isEmpty();
    assertThat(agent.err()).startsWith("error: cannot reach the control plane at " + server)
        .contains("it may have refused this certificate");
  }
}
