package io.mpqemu.spec;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatCode;
import static org.assertj.core.api.Assertions.catchThrowableOfType;
import static org.junit.jupiter.params.provider.Arguments.arguments;

import io.mpqemu.v1.Boot;
import io.mpqemu.v1.Disk;
import io.mpqemu.v1.ProxiedDevice;
import io.mpqemu.v1.RestartPolicy;
import io.mpqemu.v1.VmSpec;
import java.util.List;
import java.util.Set;
import java.util.function.Consumer;
import java.util.stream.Stream;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

class SpecValidatorTest {

  private static final NodeLimits DEFAULTS = NodeLimits.defaults();
  private static final String JSON_INJECTION = "x\",\"driver\":\"evil";
  private static final String COMMA_INJECTION = "lsi0,fd=3";

  /** A valid VM: one LSI controller serving one boot disk. */
  private static VmSpec good() {
    return VmSpec.newBuilder()
        .setName("web-1")
        .setMemoryMib(128)
        .addDevices(device("lsi0", "lsi53c895a", disk("boot", "vm1/boot.img")))
        .build();
  }

  private static ProxiedDevice device(String id, String driver, Disk... disks) {
    return ProxiedDevice.newBuilder().setId(id).setDriver(driver).addAllDisks(List.of(disks)).build();
  }

  private static Disk disk(String id, String image) {
    return Disk.newBuilder().setId(id).setImage(image).build();
  }

  private static VmSpec spec(Consumer<VmSpec.Builder> change) {
    VmSpec.Builder builder = good().toBuilder();
    change.accept(builder);
    return builder.build();
  }

  private static VmSpec device0(Consumer<ProxiedDevice.Builder> change) {
    return spec(b -> change.accept(b.getDevicesBuilder(0)));
  }

  private static VmSpec disk0(Consumer<Disk.Builder> change) {
    return spec(b -> change.accept(b.getDevicesBuilder(0).getDisksBuilder(0)));
  }

  private static VmSpec devices(ProxiedDevice... devices) {
    return spec(b -> b.clearDevices().addAllDevices(List.of(devices)));
  }

  private static ProxiedDevice lsiWithDisks(int count) {
    ProxiedDevice.Builder lsi = ProxiedDevice.newBuilder().setId("lsi0").setDriver("lsi53c895a");
    for (int i = 0; i < count; i++) {
      lsi.addDisks(disk("d" + i, "vm1/d" + i + ".img"));
    }
    return lsi.build();
  }

  private static Disk scsiDisk(String id, int scsiId) {
    return disk(id, "vm1/" + id + ".img").toBuilder().setScsiId(scsiId).build();
  }

  private static Arguments bad(String why, VmSpec spec, String field) {
    return arguments(why, spec, DEFAULTS, field);
  }

  static Stream<Arguments> badSpecs() {
    NodeLimits noNvme = new NodeLimits(Set.of("lsi53c895a", "megasas", "virtio-blk-pci"), 65536, 64, 8, 8);
    NodeLimits unknownAllowed = new NodeLimits(Set.of("lsi53c895a", "e1000"), 65536, 64, 8, 8);
    return Stream.of(
        // name
        bad("empty name", spec(b -> b.setName("")), "name"),
        bad("upper-case name", spec(b -> b.setName("Web")), "name"),
        bad("name starting with '-'", spec(b -> b.setName("-web")), "name"),
        bad("name ending with '-'", spec(b -> b.setName("web-")), "name"),
        bad("name of 64 characters", spec(b -> b.setName("a".repeat(64))), "name"),
        bad("name with '_'", spec(b -> b.setName("web_1")), "name"),
        bad("name with a trailing newline", spec(b -> b.setName("web\n")), "name"),
        bad("comma injection in name", spec(b -> b.setName(COMMA_INJECTION)), "name"),
        bad("JSON injection in name", spec(b -> b.setName(JSON_INJECTION)), "name"),
        // memory_mib
        bad("memory_mib missing", spec(b -> b.setMemoryMib(0)), "memory_mib"),
        bad("memory_mib below 16", spec(b -> b.setMemoryMib(15)), "memory_mib"),
        bad("memory_mib above the node limit", spec(b -> b.setMemoryMib(65537)), "memory_mib"),
        bad("memory_mib 2^32-1 (negative as a Java int)", spec(b -> b.setMemoryMib(-1)), "memory_mib"),
        // vcpus
        bad("vcpus above the node limit", spec(b -> b.setVcpus(65)), "vcpus"),
        bad("vcpus 2^32-1", spec(b -> b.setVcpus(-1)), "vcpus"),
        // machine
        bad("unknown machine", spec(b -> b.setMachine("microvm")), "machine"),
        bad("upper-case machine", spec(b -> b.setMachine("PC")), "machine"),
        bad("comma injection in machine", spec(b -> b.setMachine("pc,accel=kvm")), "machine"),
        bad("JSON injection in machine", spec(b -> b.setMachine(JSON_INJECTION)), "machine"),
        // restart_policy
        bad("unknown restart_policy", spec(b -> b.setRestartPolicyValue(99)), "restart_policy"),
        // labels and node_selector
        bad("65 labels", spec(b -> {
          for (int i = 0; i < 65; i++) {
            b.putLabels("k" + i, "v");
          }
        }), "labels"),
        bad("empty label key", spec(b -> b.putLabels("", "v")), "labels"),
        bad("upper-case label key", spec(b -> b.putLabels("App", "v")), "labels"),
        bad("label key of 64 characters", spec(b -> b.putLabels("a".repeat(64), "v")), "labels"),
        bad("comma injection in label key", spec(b -> b.putLabels(COMMA_INJECTION, "v")), "labels"),
        bad("JSON injection in label key", spec(b -> b.putLabels(JSON_INJECTION, "v")), "labels"),
        bad("label value of 64 characters", spec(b -> b.putLabels("app", "a".repeat(64))), "labels[\"app\"]"),
        bad("label value with a space", spec(b -> b.putLabels("app", "a b")), "labels[\"app\"]"),
        bad("comma injection in label value", spec(b -> b.putLabels("app", COMMA_INJECTION)), "labels[\"app\"]"),
        bad("JSON injection in label value", spec(b -> b.putLabels("app", JSON_INJECTION)), "labels[\"app\"]"),
        bad("comma injection in node_selector key", spec(b -> b.putNodeSelector("zone,x", "a")), "node_selector"),
        bad("'=' in node_selector value", spec(b -> b.putNodeSelector("zone", "a=b")), "node_selector[\"zone\"]"),
        // devices
        bad("no device", spec(VmSpec.Builder::clearDevices), "devices"),
        bad("9 devices", spec(b -> {
          b.clearDevices();
          for (int i = 0; i < 9; i++) {
            b.addDevices(device("nv" + i, "nvme", disk("d" + i, "vm1/d" + i + ".img")));
          }
        }), "devices"),
        // device id
        bad("empty device id", device0(d -> d.setId("")), "devices[0].id"),
        bad("upper-case device id", device0(d -> d.setId("Lsi0")), "devices[0].id"),
        bad("device id starting with a digit", device0(d -> d.setId("0lsi")), "devices[0].id"),
        bad("device id of 32 characters", device0(d -> d.setId("a".repeat(32))), "devices[0].id"),
        bad("comma injection in device id", device0(d -> d.setId(COMMA_INJECTION)), "devices[0].id"),
        bad("JSON injection in device id", device0(d -> d.setId(JSON_INJECTION)), "devices[0].id"),
        bad("duplicate device id", devices(
            device("ctl", "nvme", disk("a", "vm1/a.img")),
            device("ctl", "nvme", disk("b", "vm1/b.img"))), "devices[1].id"),
        // driver
        bad("empty driver", device0(d -> d.setDriver("")), "devices[0].driver"),
        bad("unknown driver", device0(d -> d.setDriver("e1000")), "devices[0].driver"),
        bad("comma injection in driver", device0(d -> d.setDriver("lsi53c895a,fd=3")), "devices[0].driver"),
        bad("JSON injection in driver", device0(d -> d.setDriver(JSON_INJECTION)), "devices[0].driver"),
        bad("proxy driver asked for directly", device0(d -> d.setDriver("x-pci-proxy-dev")), "devices[0].driver"),
        arguments("driver known but not allowed on the node",
            devices(device("nv0", "nvme", disk("a", "vm1/a.img"))), noNvme, "devices[0].driver"),
        arguments("driver allowed on the node but unknown to the validator",
            devices(device("net0", "e1000", disk("a", "vm1/a.img"))), unknownAllowed, "devices[0].driver"),
        // disks per device
        bad("9 disks on a SCSI controller", devices(lsiWithDisks(9)), "devices[0].disks"),
        bad("nvme without a disk", devices(device("nv0", "nvme")), "devices[0].disks"),
        bad("nvme with two disks",
            devices(device("nv0", "nvme", disk("a", "vm1/a.img"), disk("b", "vm1/b.img"))), "devices[0].disks"),
        bad("virtio-blk-pci without a disk", devices(device("vb0", "virtio-blk-pci")), "devices[0].disks"),
        // disk id
        bad("empty disk id", disk0(d -> d.setId("")), "devices[0].disks[0].id"),
        bad("upper-case disk id", disk0(d -> d.setId("Boot")), "devices[0].disks[0].id"),
        bad("comma injection in disk id", disk0(d -> d.setId("boot,fd=3")), "devices[0].disks[0].id"),
        bad("JSON injection in disk id", disk0(d -> d.setId(JSON_INJECTION)), "devices[0].disks[0].id"),
        bad("disk id repeated on one controller",
            devices(device("lsi0", "lsi53c895a", disk("a", "vm1/a.img"), disk("a", "vm1/b.img"))),
            "devices[0].disks[1].id"),
        bad("disk id repeated across devices", devices(
            device("nv0", "nvme", disk("a", "vm1/a.img")),
            device("nv1", "nvme", disk("a", "vm1/b.img"))), "devices[1].disks[0].id"),
        bad("disk id equal to a later device id", devices(
            device("nv0", "nvme", disk("nv1", "vm1/a.img")),
            device("nv1", "nvme", disk("b", "vm1/b.img"))), "devices[0].disks[0].id"),
        // image
        bad("empty image", disk0(d -> d.setImage("")), "devices[0].disks[0].image"),
        bad("image escaping with ..", disk0(d -> d.setImage("../etc/passwd")), "devices[0].disks[0].image"),
        bad("image that is ..", disk0(d -> d.setImage("..")), "devices[0].disks[0].image"),
        bad("absolute image", disk0(d -> d.setImage("/etc/passwd")), "devices[0].disks[0].image"),
        bad("image escaping in the middle", disk0(d -> d.setImage("a/../../b")), "devices[0].disks[0].image"),
        bad("image with an empty segment", disk0(d -> d.setImage("a//b")), "devices[0].disks[0].image"),
        bad("image with a trailing /", disk0(d -> d.setImage("a/")), "devices[0].disks[0].image"),
        bad("image with a . segment", disk0(d -> d.setImage("./a")), "devices[0].disks[0].image"),
        bad("image starting with -", disk0(d -> d.setImage("-readonly")), "devices[0].disks[0].image"),
        bad("image with a protocol prefix", disk0(d -> d.setImage("nbd:evil:10809")), "devices[0].disks[0].image"),
        bad("image with a space", disk0(d -> d.setImage("a b.img")), "devices[0].disks[0].image"),
        bad("image with a newline", disk0(d -> d.setImage("a\nb")), "devices[0].disks[0].image"),
        bad("image of 256 characters", disk0(d -> d.setImage("a".repeat(256))), "devices[0].disks[0].image"),
        bad("comma injection in image", disk0(d -> d.setImage("a.img,format=qcow2")), "devices[0].disks[0].image"),
        bad("JSON injection in image", disk0(d -> d.setImage(JSON_INJECTION)), "devices[0].disks[0].image"),
        // format
        bad("unknown format", disk0(d -> d.setFormat("vmdk")), "devices[0].disks[0].format"),
        bad("upper-case format", disk0(d -> d.setFormat("RAW")), "devices[0].disks[0].format"),
        bad("comma injection in format", disk0(d -> d.setFormat("raw,file.locking=off")), "devices[0].disks[0].format"),
        bad("JSON injection in format", disk0(d -> d.setFormat(JSON_INJECTION)), "devices[0].disks[0].format"),
        // scsi_id
        bad("lsi53c895a scsi_id 7 (the controller's own)",
            devices(device("lsi0", "lsi53c895a", scsiDisk("a", 7))), "devices[0].disks[0].scsi_id"),
        bad("megasas scsi_id 64",
            devices(device("m0", "megasas", scsiDisk("a", 64))), "devices[0].disks[0].scsi_id"),
        bad("scsi_id 2^32-1",
            devices(device("m0", "megasas", scsiDisk("a", -1))), "devices[0].disks[0].scsi_id"),
        bad("eighth implicit scsi id on lsi53c895a", devices(lsiWithDisks(8)), "devices[0].disks[7].scsi_id"),
        bad("two disks with one explicit scsi_id",
            devices(device("lsi0", "lsi53c895a", scsiDisk("a", 3), scsiDisk("b", 3))), "devices[0].disks[1].scsi_id"),
        bad("explicit scsi_id equal to an earlier implicit one",
            devices(device("lsi0", "lsi53c895a", disk("a", "vm1/a.img"), scsiDisk("b", 0))),
            "devices[0].disks[1].scsi_id"),
        bad("implicit scsi id equal to an earlier explicit one",
            devices(device("lsi0", "lsi53c895a", scsiDisk("a", 1), disk("b", "vm1/b.img"))),
            "devices[0].disks[1].scsi_id"),
        bad("scsi_id on nvme", devices(device("nv0", "nvme", scsiDisk("a", 0))), "devices[0].disks[0].scsi_id"),
        bad("scsi_id on virtio-blk-pci",
            devices(device("vb0", "virtio-blk-pci", scsiDisk("a", 0))), "devices[0].disks[0].scsi_id"),
        // direct kernel boot
        bad("absolute kernel", spec(b -> b.setBoot(Boot.newBuilder().setKernel("/boot/vmlinuz"))), "boot.kernel"),
        bad("kernel with ..", spec(b -> b.setBoot(Boot.newBuilder().setKernel("../vmlinuz"))), "boot.kernel"),
        bad("kernel option-like", spec(b -> b.setBoot(Boot.newBuilder().setKernel("-vmlinuz"))), "boot.kernel"),
        bad("initrd with a space", spec(b -> b.setBoot(Boot.newBuilder().setKernel("k").setInitrd("in rd"))),
            "boot.initrd"),
        bad("initrd without kernel", spec(b -> b.setBoot(Boot.newBuilder().setInitrd("initrd.img"))), "boot.initrd"),
        bad("cmdline without kernel", spec(b -> b.setBoot(Boot.newBuilder().setCmdline("quiet"))), "boot.cmdline"),
        bad("cmdline over 2048", spec(b -> b.setBoot(Boot.newBuilder().setKernel("k").setCmdline("a".repeat(2049)))),
            "boot.cmdline"),
        bad("cmdline with a newline", spec(b -> b.setBoot(Boot.newBuilder().setKernel("k").setCmdline("quiet\ninit=/x"))),
            "boot.cmdline"),
        bad("cmdline with non-ASCII", spec(b -> b.setBoot(Boot.newBuilder().setKernel("k").setCmdline("root=é"))),
            "boot.cmdline"));
  }

  @Test
  @DisplayName("direct kernel boot: a kernel alone, or with an initrd and a 2048-byte command line")
  void acceptsDirectKernelBoot() {
    assertValid(spec(b -> b.setBoot(Boot.newBuilder().setKernel("guests/vmlinuz"))));
    assertValid(spec(b -> b.setBoot(Boot.newBuilder().setKernel("guests/vmlinuz").setInitrd("guests/initrd.img")
        .setCmdline("console=ttyS0 root=LABEL=root rw " + "x".repeat(2048 - 34)))));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("badSpecs")
  @DisplayName("a bad spec is refused with one sentence naming the offending field")
  void refusesBadSpec(String why, VmSpec spec, NodeLimits limits, String field) {
    InvalidSpecException e =
        catchThrowableOfType(() -> SpecValidator.validate(spec, limits), InvalidSpecException.class);

    assertThat(e).as("validation of a spec with %s", why).isNotNull();
    assertThat(e.field()).isEqualTo(field);
    assertThat(e.getMessage()).startsWith(field).endsWith(".").doesNotContain("\n", "\r");
  }

  @Test
  @DisplayName("the baseline spec of the bad-spec table is itself valid")
  void baselineIsValid() {
    assertValid(good());
  }

  @ParameterizedTest(name = "{0}")
  @ValueSource(strings = {"lsi53c895a", "megasas", "nvme", "virtio-blk-pci"})
  @DisplayName("each known driver with one disk is accepted")
  void acceptsEachDriver(String driver) {
    assertValid(devices(device("dev0", driver, disk("boot", "vm1/boot.img"))));
  }

  @Test
  @DisplayName("a q35 VM with several vCPUs, labels and a node selector is accepted")
  void acceptsQ35WithLabels() {
    assertValid(spec(b -> b.setMachine("q35").setVcpus(4).setMemoryMib(65536)
        .putLabels("app", "web").putLabels("example.com/tier", "").putNodeSelector("zone", "eu-1.a_b")
        .setRestartPolicy(RestartPolicy.ON_FAILURE)));
  }

  @Test
  @DisplayName("read-only and qcow2 disks are accepted")
  void acceptsReadOnlyQcow2() {
    assertValid(devices(
        device("nv0", "nvme", disk("a", "images/base.qcow2").toBuilder().setFormat("qcow2").setReadOnly(true).build()),
        device("vb0", "virtio-blk-pci", disk("b", "b.raw").toBuilder().setFormat("raw").setReadOnly(true).build())));
  }

  @Test
  @DisplayName("explicit SCSI ids up to each controller's maximum are accepted, mixed with implicit ones")
  void acceptsExplicitScsiIds() {
    assertValid(devices(
        device("lsi0", "lsi53c895a", scsiDisk("a", 6), disk("b", "vm1/b.img"), scsiDisk("c", 0)),
        device("m0", "megasas", scsiDisk("d", 63), scsiDisk("e", 0))));
  }

  @Test
  @DisplayName("a SCSI controller may serve no disk and up to the node's disk limit")
  void acceptsScsiControllerWithoutDisksOrSevenDisks() {
    assertValid(devices(device("lsi0", "lsi53c895a"), lsiWithDisks(7).toBuilder().setId("lsi1").build()));
  }

  @Test
  @DisplayName("names, ids and images at their maximum lengths are accepted")
  void acceptsMaximumLengths() {
    assertValid(spec(b -> b.setName("a".repeat(63)).putLabels("k".repeat(63), "v".repeat(63))
        .setDevices(0, device("d".repeat(31), "nvme", disk("i".repeat(31), "a/".repeat(127) + "b")))));
  }

  @Test
  @DisplayName("limits of a node are honoured: a spec over them is refused, the same spec under larger limits passes")
  void honoursNodeLimits() {
    VmSpec big = spec(b -> b.setVcpus(8));
    NodeLimits small = new NodeLimits(SpecValidator.KNOWN_DRIVERS, 1024, 4, 1, 1);

    assertThat(catchThrowableOfType(() -> SpecValidator.validate(big, small), InvalidSpecException.class).field())
        .isEqualTo("vcpus");
    assertThatCode(() -> SpecValidator.validate(big, DEFAULTS)).doesNotThrowAnyException();
  }

  @ParameterizedTest
  @ValueSource(strings = {"a", "0", "vm-0123", "a23456789012345678901234567890123456789012345678901234567890123"})
  @DisplayName("a well-formed VM id is accepted")
  void acceptsVmId(String id) {
    assertThatCode(() -> SpecValidator.validateVmId(id)).doesNotThrowAnyException();
  }

  @ParameterizedTest
  @ValueSource(strings = {"", "-a", "A", "a_b", "a/b", "..", "a,b",
      "a234567890123456789012345678901234567890123456789012345678901234"})
  @DisplayName("a malformed VM id is refused")
  void refusesVmId(String id) {
    InvalidSpecException e = catchThrowableOfType(() -> SpecValidator.validateVmId(id), InvalidSpecException.class);
    assertThat(e).isNotNull();
    assertThat(e.field()).isEqualTo("vm_id");
  }

  @Test
  @DisplayName("defaults: pc machine, one vCPU, raw format, SCSI ids by position unless explicit")
  void defaults() {
    VmSpec spec = devices(device("lsi0", "lsi53c895a", disk("a", "a.img"), scsiDisk("b", 5), disk("c", "c.img")));

    assertThat(SpecValidator.machineOrDefault(spec)).isEqualTo("pc");
    assertThat(SpecValidator.machineOrDefault(spec(b -> b.setMachine("q35")))).isEqualTo("q35");
    assertThat(SpecValidator.vcpusOrDefault(spec)).isEqualTo(1);
    assertThat(SpecValidator.vcpusOrDefault(spec(b -> b.setVcpus(3)))).isEqualTo(3);
    assertThat(SpecValidator.formatOrDefault(disk("a", "a.img"))).isEqualTo("raw");
    assertThat(SpecValidator.formatOrDefault(disk("a", "a.img").toBuilder().setFormat("qcow2").build()))
        .isEqualTo("qcow2");
    ProxiedDevice lsi = spec.getDevices(0);
    assertThat(SpecValidator.scsiIdOf(lsi, 0)).isZero();
    assertThat(SpecValidator.scsiIdOf(lsi, 1)).isEqualTo(5);
    assertThat(SpecValidator.scsiIdOf(lsi, 2)).isEqualTo(2);
    assertThat(SpecValidator.isScsiController("megasas")).isTrue();
    assertThat(SpecValidator.isScsiController("nvme")).isFalse();
  }

  @Test
  @DisplayName("an error message quotes a hostile value without control characters")
  void messageQuotesSafely() {
    InvalidSpecException e = catchThrowableOfType(
        () -> SpecValidator.validate(spec(b -> b.setName("a\"\n\u0000b")), DEFAULTS), InvalidSpecException.class);
    assertThat(e.getMessage()).contains("name \"a\"??b\" is not valid").doesNotContain("\n");
  }

  @Test
  @DisplayName("an error message quotes at most 64 characters of a value of 10,000, so it stays short")
  void messageQuotesShort() {
    InvalidSpecException e = catchThrowableOfType(
        () -> SpecValidator.validate(spec(b -> b.setName("N".repeat(10_000))), DEFAULTS), InvalidSpecException.class);
    assertThat(e.getMessage()).contains("name \"" + "N".repeat(64) + "…\" is not valid").hasSizeLessThan(400);
  }

  private static void assertValid(VmSpec spec) {
    assertThatCode(() -> SpecValidator.validate(spec, DEFAULTS)).doesNotThrowAnyException();
  }
}
