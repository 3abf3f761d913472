package io.mpqemu.agent.qemu;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.mpqemu.agent.qemu.QemuCommandLine.Accelerator;
import io.mpqemu.v1.Disk;
import io.mpqemu.v1.ProxiedDevice;
import io.mpqemu.v1.VmSpec;
import io.vertx.core.json.JsonObject;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

class QemuCommandLineTest {

  private static final Path QEMU = Path.of("/usr/bin/qemu-system-x86_64");
  private static final List<String> SANDBOX = List.of(
      "-sandbox", "on,obsolete=deny,elevateprivileges=deny,spawn=deny,resourcecontrol=deny", "-msg", "timestamp=on");

  private final QemuCommandLine commandLine = new QemuCommandLine(QEMU);

  private static Disk disk(String id) {
    return Disk.newBuilder().setId(id).setImage(id + ".img").build();
  }

  private static ProxiedDevice device(String id, String driver, Disk... disks) {
    return ProxiedDevice.newBuilder().setId(id).setDriver(driver).addAllDisks(List.of(disks)).build();
  }

  /** The values that follow each occurrence of {@code option} in argv. */
  private static List<String> valuesOf(List<String> argv, String option) {
    List<String> values = new ArrayList<>();
    for (int i = 0; i < argv.size() - 1; i++) {
      if (argv.get(i).equals(option)) {
        values.add(argv.get(i + 1));
      }
    }
    return values;
  }

  @Test
  @DisplayName("direct kernel boot: the kernel and initrd by descriptor, the command line as one argument; under TCG"
      + " with proxied devices 'irqpoll nolapic_timer' appended unless the line has nolapic_timer")
  void directKernelBoot() {
    VmSpec spec = VmSpec.newBuilder().setName("k").setMemoryMib(256).addDevices(device("vb0", "virtio-blk-pci", disk("root")))
        .setBoot(io.mpqemu.v1.Boot.newBuilder().setKernel("vmlinuz").setInitrd("initrd.img")
            .setCmdline("console=ttyS0 root=LABEL=root, rw")).build();

    List<String> kvm = commandLine.main(spec, Accelerator.KVM);
    assertThat(valuesOf(kvm, "-kernel")).containsExactly("/proc/self/fd/6");
    assertThat(valuesOf(kvm, "-initrd")).containsExactly("/proc/self/fd/7");
    assertThat(valuesOf(kvm, "-append")).containsExactly("console=ttyS0 root=LABEL=root, rw");
    assertThat(kvm.indexOf("-kernel")).as("before -S and the sandbox").isLessThan(kvm.indexOf("-S"));
    assertThat(valuesOf(commandLine.main(spec, Accelerator.TCG), "-append"))
        .containsExactly("console=ttyS0 root=LABEL=root, rw irqpoll nolapic_timer");

    VmSpec polled = spec.toBuilder().setBoot(spec.getBoot().toBuilder().setCmdline("console=ttyS0 nolapic_timer")).build();
    assertThat(valuesOf(commandLine.main(polled, Accelerator.TCG), "-append")).containsExactly("console=ttyS0 nolapic_timer");
    VmSpec bare = spec.toBuilder().clearDevices().setBoot(io.mpqemu.v1.Boot.newBuilder().setKernel("vmlinuz")).build();
    List<String> noDevices = commandLine.main(bare, Accelerator.TCG);
    assertThat(valuesOf(noDevices, "-append")).as("no proxied device: nothing to poll for, no line at all").isEmpty();
    assertThat(noDevices).doesNotContain("-initrd");
    assertThat(commandLine.main(VmSpec.newBuilder().setName("d").setMemoryMib(64).build(), Accelerator.TCG))
        .doesNotContain("-kernel", "-append");
  }

  @Test
  @DisplayName("an LSI controller process: two block nodes per disk, the controller, scsi-hd children and the remote object")
  void remoteLsi() {
    ProxiedDevice lsi = device("lsi0", "lsi53c895a",
        disk("boot"), disk("data").toBuilder().setReadOnly(true).setScsiId(4).build());

    List<String> argv = commandLine.remote(lsi);

    assertThat(argv).containsExactly(
        "/usr/bin/qemu-system-x86_64",
        "-machine", "x-remote", "-nodefaults", "-no-user-config", "-display", "none",
        "-add-fd", "fd=3,set=1",
        "-blockdev", "{\"driver\":\"file\",\"node-name\":\"file0\",\"filename\":\"/dev/fdset/1\",\"read-only\":false}",
        "-blockdev", "{\"driver\":\"raw\",\"node-name\":\"disk0\",\"file\":\"file0\",\"read-only\":false}",
        "-add-fd", "fd=4,set=2",
        "-blockdev", "{\"driver\":\"file\",\"node-name\":\"file1\",\"filename\":\"/dev/fdset/2\",\"read-only\":true}",
        "-blockdev", "{\"driver\":\"raw\",\"node-name\":\"disk1\",\"file\":\"file1\",\"read-only\":true}",
        "-device", "{\"driver\":\"lsi53c895a\",\"id\":\"lsi0\"}",
        "-device", "{\"driver\":\"scsi-hd\",\"id\":\"lsi0-boot\",\"bus\":\"lsi0.0\",\"scsi-id\":0,\"drive\":\"disk0\"}",
        "-device", "{\"driver\":\"scsi-hd\",\"id\":\"lsi0-data\",\"bus\":\"lsi0.0\",\"scsi-id\":4,\"drive\":\"disk1\"}",
        "-object", "{\"qom-type\":\"x-remote-object\",\"id\":\"robj0\",\"devid\":\"lsi0\",\"fd\":\"0\"}",
        SANDBOX.get(0), SANDBOX.get(1), SANDBOX.get(2), SANDBOX.get(3));
  }

  @Test
  @DisplayName("a megasas controller with a qcow2 disk: scsi-hd child on <id>.0 over a qcow2 node that follows no backing file")
  void remoteMegasasQcow2() {
    ProxiedDevice megasas = device("m0", "megasas", disk("sys").toBuilder().setFormat("qcow2").setScsiId(63).build());

    List<String> argv = commandLine.remote(megasas);

    assertThat(valuesOf(argv, "-blockdev")).element(1)
        .isEqualTo("{\"driver\":\"qcow2\",\"node-name\":\"disk0\",\"file\":\"file0\",\"read-only\":false,\"backing\":null}");
    assertThat(valuesOf(argv, "-device")).containsExactly(
        "{\"driver\":\"megasas\",\"id\":\"m0\"}",
        "{\"driver\":\"scsi-hd\",\"id\":\"m0-sys\",\"bus\":\"m0.0\",\"scsi-id\":63,\"drive\":\"disk0\"}");
  }

  @Test
  @DisplayName("an nvme device takes its disk as drive and the disk id as serial")
  void remoteNvme() {
    List<String> argv = commandLine.remote(device("nv0", "nvme", disk("root")));

    assertThat(valuesOf(argv, "-device"))
        .containsExactly("{\"driver\":\"nvme\",\"id\":\"nv0\",\"drive\":\"disk0\",\"serial\":\"root\"}");
    assertThat(valuesOf(argv, "-object"))
        .containsExactly("{\"qom-type\":\"x-remote-object\",\"id\":\"robj0\",\"devid\":\"nv0\",\"fd\":\"0\"}");
  }

  @Test
  @DisplayName("a virtio-blk-pci device takes its disk as drive")
  void remoteVirtioBlk() {
    List<String> argv = commandLine.remote(device("vb0", "virtio-blk-pci", disk("root")));

    assertThat(valuesOf(argv, "-device")).containsExactly("{\"driver\":\"virtio-blk-pci\",\"id\":\"vb0\",\"drive\":\"disk0\"}");
    assertThat(argv).as("a device process names no file: its disks are descriptors, its pid the agent's record")
        .noneMatch(a -> a.startsWith("/var") || a.contains("\"/srv") || a.equals("-pidfile"));
  }

  @Test
  @DisplayName("scsi-hd child ids fall back to <device>-d<index> for the whole controller when one would exceed 31 characters")
  void longChildIds() {
    String deviceId = "c".repeat(20);
    ProxiedDevice lsi = device(deviceId, "lsi53c895a", disk("d1"), disk("x".repeat(11)));

    List<String> argv = commandLine.remote(lsi);

    List<String> devices = valuesOf(argv, "-device");
    assertThat(devices.subList(1, devices.size()))
        .extracting(json -> new JsonObject(json).getString("id"))
        .containsExactly(deviceId + "-d0", deviceId + "-d1")
        .allSatisfy(id -> assertThat(id.length()).isLessThanOrEqualTo(31));
  }

  @Test
  @DisplayName("an image name from a request never reaches the device process's command line")
  void imageNamesStayOut() {
    String hostile = "x\",\"driver\":\"evil\",\"a\":\"b,fd=3,file.locking=off";
    ProxiedDevice nvme = device("nv0", "nvme", disk("root").toBuilder().setImage(hostile).build());

    List<String> argv = commandLine.remote(nvme);

    assertThat(argv).noneMatch(a -> a.contains("evil") || a.contains("locking"));
    JsonObject file = new JsonObject(valuesOf(argv, "-blockdev").get(0));
    assertThat(file.fieldNames()).containsExactlyInAnyOrder("driver", "node-name", "filename", "read-only");
    assertThat(file.getString("filename")).isEqualTo("/dev/fdset/1");
  }

  @Test
  @DisplayName("a disk over a chain of bases: one descriptor and fd set per layer, the deepest defined first, each overlay naming the node below")
  void baseImageChain() {
    ProxiedDevice vb = device("vb0", "virtio-blk-pci", disk("root").toBuilder().setFormat("qcow2").build());
    Map<String, List<QemuCommandLine.Base>> bases =
        Map.of("root", List.of(new QemuCommandLine.Base("qcow2"), new QemuCommandLine.Base("raw")));

    List<String> argv = commandLine.remote(vb, bases);

    assertThat(QemuCommandLine.descriptors(vb, bases)).containsExactly(Map.entry("root", List.of(3, 4, 5)));
    assertThat(valuesOf(argv, "-add-fd")).containsExactly("fd=5,set=3", "fd=4,set=2", "fd=3,set=1");
    assertThat(valuesOf(argv, "-blockdev")).containsExactly(
        "{\"driver\":\"file\",\"node-name\":\"file0b2\",\"filename\":\"/dev/fdset/3\",\"read-only\":true}",
        "{\"driver\":\"raw\",\"node-name\":\"disk0b2\",\"file\":\"file0b2\",\"read-only\":true}",
        "{\"driver\":\"file\",\"node-name\":\"file0b1\",\"filename\":\"/dev/fdset/2\",\"read-only\":true}",
        "{\"driver\":\"qcow2\",\"node-name\":\"disk0b1\",\"file\":\"file0b1\",\"read-only\":true,\"backing\":\"disk0b2\"}",
        "{\"driver\":\"file\",\"node-name\":\"file0\",\"filename\":\"/dev/fdset/1\",\"read-only\":false}",
        "{\"driver\":\"qcow2\",\"node-name\":\"disk0\",\"file\":\"file0\",\"read-only\":false,\"backing\":\"disk0b1\"}");
  }

  @Test
  @DisplayName("only a qcow2 image can sit over a base image")
  void rawCannotHaveABase() {
    ProxiedDevice vb = device("vb0", "virtio-blk-pci", disk("root"));

    assertThatThrownBy(() -> commandLine.remote(vb, Map.of("root", List.of(new QemuCommandLine.Base("raw")))))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("only a qcow2 image can have a base");
  }

  @Test
  @DisplayName("the disks of a device are descriptors 3, 4, ... in fd sets 1, 2, ..., in the order of the spec")
  void diskDescriptors() {
    ProxiedDevice lsi = device("lsi0", "lsi53c895a", disk("a"), disk("b"), disk("c"));

    List<String> argv = commandLine.remote(lsi);

    assertThat(valuesOf(argv, "-add-fd")).containsExactly("fd=3,set=1", "fd=4,set=2", "fd=5,set=3");
    assertThat(QemuCommandLine.diskDescriptor(0)).isEqualTo(3);
    assertThat(QemuCommandLine.diskDescriptor(2)).isEqualTo(5);
  }

  @Test
  @DisplayName("the main QEMU: pc under TCG, shared memfd RAM, serial to the console log's fd set, QMP on a listening descriptor, paused")
  void mainPc() {
    VmSpec spec = VmSpec.newBuilder().setName("web").setMemoryMib(128).build();

    List<String> argv = commandLine.main(spec, Accelerator.TCG);

    List<String> expected = new ArrayList<>(List.of(
        "/usr/bin/qemu-system-x86_64",
        "-machine", "pc,memory-backend=mem", "-accel", "tcg,tb-size=256", "-smp", "1", "-m", "128M",
        "-object", "{\"qom-type\":\"memory-backend-memfd\",\"id\":\"mem\",\"size\":134217728,\"share\":true}",
        "-nodefaults", "-no-user-config", "-display", "none",
        "-add-fd", "fd=4,set=1",
        "-chardev", "socket,id=serial0,fd=5,server=on,wait=off,logfile=/dev/fdset/1,logappend=on",
        "-serial", "chardev:serial0",
        "-chardev", "socket,id=qmp,fd=3,server=on,wait=off",
        "-mon", "chardev=qmp,mode=control",
        "-S"));
    expected.addAll(SANDBOX);
    assertThat(argv).containsExactlyElementsOf(expected);
  }

  @Test
  @DisplayName("the main QEMU: q35 under KVM with several vCPUs and RAM beyond 4 GiB")
  void mainQ35Kvm() {
    VmSpec spec = VmSpec.newBuilder().setName("big").setMemoryMib(65536).setVcpus(8).setMachine("q35").build();

    List<String> argv = commandLine.main(spec, Accelerator.KVM);

    assertThat(valuesOf(argv, "-machine")).containsExactly("q35,memory-backend=mem");
    assertThat(valuesOf(argv, "-accel")).containsExactly("kvm");
    assertThat(valuesOf(argv, "-smp")).containsExactly("8");
    assertThat(valuesOf(argv, "-m")).containsExactly("65536M");
    assertThat(new JsonObject(valuesOf(argv, "-object").get(0)).getLong("size")).isEqualTo(65536L << 20);
    assertThat(valuesOf(argv, "-device")).containsExactly("{\"driver\":\"pcie-pci-bridge\",\"id\":\"Mpqemu-br0\"}");
  }

  @Test
  @DisplayName("a machine type outside the allow-list never reaches the -machine option")
  void mainRefusesUnknownMachine() {
    VmSpec spec = VmSpec.newBuilder().setName("x").setMemoryMib(64).setMachine("pc,accel=kvm").build();

    assertThatThrownBy(() -> commandLine.main(spec, Accelerator.TCG))
        .isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  @DisplayName("the main QEMU names no file: QMP is descriptor 3, the console log 4, the console socket 5, and key=value options carry only numbers")
  void mainNamesNoFile() {
    VmSpec spec = VmSpec.newBuilder().setName("x,path=/etc/passwd").setMemoryMib(64).setVcpus(2).build();

    List<String> argv = commandLine.main(spec, Accelerator.TCG);

    assertThat(QemuCommandLine.MAIN_QMP_DESCRIPTOR).isEqualTo(3);
    assertThat(QemuCommandLine.MAIN_CONSOLE_DESCRIPTOR).isEqualTo(4);
    assertThat(QemuCommandLine.MAIN_TTY_DESCRIPTOR).isEqualTo(5);
    assertThat(argv.subList(1, argv.size())).as("no path but the fd set's").noneMatch(a -> a.contains("/") && !a.contains("/dev/fdset/"))
        .noneMatch(a -> a.contains("passwd") || a.contains("x,"));
    assertThat(valuesOf(argv, "-chardev")).allSatisfy(option -> assertThat(option).matches("[a-z0-9=,/]+"));
  }

  @Test
  @DisplayName("on q35 a proxy goes on the PCI bridge of the main QEMU; on pc on the root bus")
  void proxyArgumentsPerMachine() {
    ProxiedDevice lsi = device("lsi0", "lsi53c895a");
    VmSpec pc = VmSpec.newBuilder().setMemoryMib(64).addDevices(lsi).build();
    VmSpec q35 = pc.toBuilder().setMachine("q35").build();

    assertThat(QemuCommandLine.proxyDeviceArguments(pc, lsi, "mp0").encode())
        .isEqualTo("{\"driver\":\"x-pci-proxy-dev\",\"id\":\"lsi0\",\"fd\":\"mp0\"}");
    assertThat(QemuCommandLine.proxyDeviceArguments(q35, lsi, "mp0").encode())
        .isEqualTo("{\"driver\":\"x-pci-proxy-dev\",\"id\":\"lsi0\",\"fd\":\"mp0\",\"bus\":\"Mpqemu-br0\"}");
    assertThat(valuesOf(commandLine.main(pc, Accelerator.TCG), "-device")).isEmpty();
  }

  @Test
  @DisplayName("accelerators are named as QEMU spells them")
  void acceleratorNames() {
    assertThat(Accelerator.KVM.qemuName()).isEqualTo("kvm");
    assertThat(Accelerator.TCG.qemuName()).isEqualTo("tcg");
  }
}
