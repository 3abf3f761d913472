package io.mpqemu.controlplane.cli;

import io.mpqemu.grpc.GrpcCallException;
import io.mpqemu.v1.CatalogImage;
import io.mpqemu.v1.DeleteCatalogImageRequest;
import io.mpqemu.v1.ImageUpload;
import io.mpqemu.v1.ImportImageResponse;
import io.mpqemu.v1.ImportTarget;
import io.mpqemu.v1.ListCatalogRequest;
import io.mpqemu.v1.ListCatalogResponse;
import io.mpqemu.v1.NodeCatalog;
import io.mpqemu.v1.NodeImageResult;
import io.mpqemu.v1.VmServiceGrpcClient;
import io.vertx.grpc.common.GrpcStatus;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code image import | list | delete}: the nodes' image catalogs. */
@Command(name = "image", description = "The nodes' image catalogs: import an image to them, list, delete.",
    exitCodeListHeading = ExitCodes.HEADING,
    exitCodeList = {ExitCodes.OK_LINE, ExitCodes.REFUSED_LINE, ExitCodes.USAGE_LINE, ExitCodes.UNREACHABLE_LINE},
    subcommands = {ImageCommands.Import.class, ImageCommands.ListImages.class, ImageCommands.Delete.class})
final class ImageCommands {

  @Option(names = {"-h", "--help"}, usageHelp = true, description = "Show this help, with the exit codes.")
  boolean help;

  /** Per node, OK or why not; a node that failed makes the command fail (exit 1). */
  static void report(List<NodeImageResult> results, PrintWriter out) {
    Table table = new Table("NODE", "RESULT", "MESSAGE");
    boolean failed = false;
    for (NodeImageResult r : results) {
      table.row(r.getNode(), r.getStatus(), r.getMessage());
      failed |= !r.getStatus().equals("OK");
    }
    out.print(table.render());
    if (failed) {
      throw new GrpcCallException(GrpcStatus.ABORTED, "some nodes did not: retry them alone with --node");
    }
  }

  @Command(name = "import", description = "Import FILE into the catalogs of every READY node (or of --node ...), its"
      + " SHA-256 checked on each; a progress bar on a terminal.",
      exitCodeListHeading = ExitCodes.HEADING,
      exitCodeList = {ExitCodes.OK_LINE, "1:the control plane refused, or a node failed (see its line)",
          ExitCodes.USAGE_LINE, ExitCodes.UNREACHABLE_LINE})
  static final class Import extends ClientCommand {
    @Parameters(index = "0", paramLabel = "FILE", description = "The image file.")
    Path file;

    @Option(names = "--name", required = true, description = "Its name in the catalogs.")
    String name;

    @Option(names = "--format", defaultValue = "raw", description = "raw (the default) or qcow2.")
    String format;

    @Option(names = "--node", paramLabel = "ID", description = "Only this node (repeatable): a retry of a node that failed.")
    List<String> nodes = new ArrayList<>();

    @Option(names = "--node-selector", paramLabel = "KEY=VALUE", description = "Only READY nodes with these labels.")
    Map<String, String> selector = new LinkedHashMap<>();

    @Override
    void run(ControlPlaneConnection server, ClientOptions options, PrintWriter out) throws Exception {
      if (!Files.isRegularFile(file)) {
        throw new UsageException(file + " is not a file");
      }
      long size = Files.size(file);
      PrintWriter err = spec.commandLine().getErr();
      err.println("hashing " + file + " (" + size + " bytes)");
      err.flush();
      String sha256 = sha256(file);
      ImportTarget target = ImportTarget.newBuilder().setUpload(ImageUpload.newBuilder().setName(name).setFormat(format)
          .setSha256(sha256).setSizeBytes(size)).addAllNodes(nodes).putAllNodeSelector(selector).build();
      Progress progress = new Progress(err, size, System.console() != null);
      ImportImageResponse answer = server.importImage(target, file, progress::sent);
      progress.done();
      report(answer.getResultsList(), out);
    }

    private static String sha256(Path file) throws IOException {
      try (InputStream in = Files.newInputStream(file)) {
        MessageDigest md = MessageDigest.getInstance("SHA-256");
        byte[] buf = new byte[1 << 20];
        int n;
        while ((n = in.read(buf)) > 0) {
          md.update(buf, 0, n);
        }
        return HexFormat.of().formatHex(md.digest());
      } catch (java.security.NoSuchAlgorithmException e) {
        throw new IllegalStateException(e);
      }
    }
  }

  /** Bytes sent, rate and time left: redrawn in place on a terminal, a line every 10% otherwise. */
  static final class Progress {
    private final PrintWriter err;
    private final long total;
    private final boolean terminal;
    private final long started = System.nanoTime();
    private long lastDraw;
    private int lastTenth = -1;

    Progress(PrintWriter err, long total, boolean terminal) {
      this.err = err;
      this.total = total;
      this.terminal = terminal;
    }

    void sent(long bytes) {
      double seconds = Math.max(1e-3, (System.nanoTime() - started) / 1e9);
      double rate = bytes / seconds;
      String line = String.format(Locale.ROOT, "%s / %s  %s/s  %s left", mib(bytes), mib(total), mib((long) rate),
          rate > 0 ? (long) ((total - bytes) / rate) + " s" : "?");
      if (terminal) {
        long now = System.nanoTime();
        if (now - lastDraw > 100_000_000L || bytes == total) {
          int width = 30;
          int filled = (int) (width * bytes / Math.max(1, total));
          err.print("\r[" + "#".repeat(filled) + " ".repeat(width - filled) + "] " + line + "   ");
          err.flush();
          lastDraw = now;
        }
      } else {
        int tenth = (int) (10 * bytes / Math.max(1, total));
        if (tenth != lastTenth) {
          err.println(line);
          err.flush();
          lastTenth = tenth;
        }
      }
    }

    void done() {
      if (terminal) {
        err.println();
      }
      err.flush();
    }

    private static String mib(long bytes) {
      return String.format(Locale.ROOT, "%.1f MiB", bytes / 1048576.0);
    }
  }

  @Command(name = "list", description = "Each READY node's catalog: name, format, virtual and file size, SHA-256.",
      exitCodeListHeading = ExitCodes.HEADING,
      exitCodeList = {ExitCodes.OK_LINE, ExitCodes.REFUSED_LINE, ExitCodes.USAGE_LINE, ExitCodes.UNREACHABLE_LINE})
  static final class ListImages extends ClientCommand {
    @Override
    void run(ControlPlaneConnection server, ClientOptions options, PrintWriter out) {
      ListCatalogResponse answer = server.call(VmServiceGrpcClient.ListCatalog, ListCatalogRequest.getDefaultInstance());
      if (options.json()) {
        answer.getNodesList().forEach(n -> out.println(Formats.jsonLine(n)));
        return;
      }
      Table table = new Table("NODE", "IMAGE", "FORMAT", "VIRTUAL", "SIZE", "SHA256");
      for (NodeCatalog node : answer.getNodesList()) {
        if (!node.getError().isEmpty()) {
          table.row(node.getNode(), "?", "", "", "", node.getError());
        }
        for (CatalogImage i : node.getImagesList()) {
          table.row(node.getNode(), i.getName(), i.getFormat(), Long.toUnsignedString(i.getVirtualSizeBytes()),
              Long.toUnsignedString(i.getSizeBytes()), i.getSha256().substring(0, 12));
        }
      }
      out.print(table.render());
    }
  }

  @Command(name = "delete", description = "Remove an image from the catalogs of every READY node (or of --node ...).",
      exitCodeListHeading = ExitCodes.HEADING,
      exitCodeList = {ExitCodes.OK_LINE, "1:the control plane refused, or a node did not (see its line)",
          ExitCodes.USAGE_LINE, ExitCodes.UNREACHABLE_LINE})
  static final class Delete extends ClientCommand {
    @Parameters(index = "0", paramLabel = "NAME")
    String name;

    @Option(names = "--node", paramLabel = "ID", description = "Only this node (repeatable).")
    List<String> nodes = new ArrayList<>();

    @Override
    void run(ControlPlaneConnection server, ClientOptions options, PrintWriter out) {
      report(server.call(VmServiceGrpcClient.DeleteCatalogImage, DeleteCatalogImageRequest.newBuilder().setName(name)
          .addAllNodes(nodes).build()).getResultsList(), out);
    }
  }
}
