package io.mpqemu.controlplane.api;

import io.mpqemu.controlplane.dispatch.AgentClients;
import io.mpqemu.controlplane.nodes.NodeRegistry;
import io.mpqemu.controlplane.store.StoredNode;
import io.mpqemu.grpc.GrpcCallException;
import io.mpqemu.grpc.StatusMessages;
import io.mpqemu.http.OnContext;
import io.mpqemu.spec.DiskSources;
import io.mpqemu.v1.CatalogImage;
import io.mpqemu.v1.DeleteCatalogImageRequest;
import io.mpqemu.v1.DeleteCatalogImageResponse;
import io.mpqemu.v1.ImageUpload;
import io.mpqemu.v1.ImportImageChunk;
import io.mpqemu.v1.ImportImageRequest;
import io.mpqemu.v1.ImportImageResponse;
import io.mpqemu.v1.ImportTarget;
import io.mpqemu.v1.ListCatalogResponse;
import io.mpqemu.v1.NodeCatalog;
import io.mpqemu.v1.NodeImageResult;
import io.mpqemu.v1.NodeState;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.grpc.client.GrpcClientRequest;
import io.vertx.grpc.common.GrpcStatus;
import io.vertx.grpc.server.GrpcServerRequest;
import io.vertx.grpc.server.StatusException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * The nodes' catalogs through the control plane: an import is streamed to every chosen node's agent at
 * once (the client waits while any node's stream is full, so the slowest disk sets the pace), each node
 * answering for itself; listing and deleting ask every READY node. The catalogs live on the nodes: the
 * control plane stores nothing of them.
 */
final class CatalogRelay {

  static final int MAX_CHUNK = 1024 * 1024;
  private static final Pattern SHA256 = Pattern.compile("^[0-9a-f]{64}$");

  private final Context controlPlane;
  private final NodeRegistry nodes;
  private final AgentClients agents;

  CatalogRelay(Context controlPlane, NodeRegistry nodes, AgentClients agents) {
    this.controlPlane = controlPlane;
    this.nodes = nodes;
    this.agents = agents;
  }

  Future<ListCatalogResponse> list() {
    return readyNodes(List.of(), Map.of(), false).compose(targets -> {
      List<Future<NodeCatalog>> asked = new ArrayList<>();
      for (StoredNode n : targets) {
        asked.add(agents.listImages(target(n)).map(images -> NodeCatalog.newBuilder().setNode(n.id())
            .addAllImages(images).build()).recover(e -> Future.succeededFuture(NodeCatalog.newBuilder().setNode(n.id())
            .setError(describe(e)).build())));
      }
      return Future.all(asked).map(all -> ListCatalogResponse.newBuilder().addAllNodes(all.<NodeCatalog>list()).build());
    });
  }

  Future<DeleteCatalogImageResponse> delete(DeleteCatalogImageRequest request) {
    if (!DiskSources.CATALOG_NAME.matcher(request.getName()).matches()) {
      return Future.failedFuture(new StatusException(GrpcStatus.INVALID_ARGUMENT, "name must be a catalog name (1 to 63"
          + " lowercase letters, digits, '.', '_' and '-')"));
    }
    return readyNodes(request.getNodesList(), Map.of(), true).compose(targets -> {
      List<Future<NodeImageResult>> done = new ArrayList<>();
      for (StoredNode n : targets) {
        done.add(agents.deleteImage(target(n), request.getName()).map(v -> ok(n.id(), "deleted"))
            .recover(e -> Future.succeededFuture(failed(n.id(), e))));
      }
      return Future.all(done).map(all -> DeleteCatalogImageResponse.newBuilder()
          .addAllResults(all.<NodeImageResult>list()).build());
    });
  }

  void importImage(GrpcServerRequest<ImportImageRequest, ImportImageResponse> call) {
    Import in = new Import(call);
    call.handler(in::message);
    call.endHandler(v -> in.end());
    call.errorHandler(e -> in.cancel());
    call.response().exceptionHandler(e -> in.cancel());
  }

  /**
   * One import, fanned out. Its state lives on the client's loop: what the node streams report (drained,
   * answered) is handed over to it.
   */
  private final class Import {
    private final GrpcServerRequest<ImportImageRequest, ImportImageResponse> call;
    private final Context caller = io.vertx.core.Vertx.currentContext();
    private final List<NodeStream> streams = new ArrayList<>();
    private boolean started;
    private boolean over;
    private int waitingFor;

    Import(GrpcServerRequest<ImportImageRequest, ImportImageResponse> call) {
      this.call = call;
    }

    void message(ImportImageRequest m) {
      if (over) {
        return;
      }
      if (!started) {
        started = true;
        start(m);
        return;
      }
      if (m.hasTarget()) {
        refuse(GrpcStatus.INVALID_ARGUMENT, "the target comes once, in the first message");
        return;
      }
      if (m.getData().size() > MAX_CHUNK) {
        refuse(GrpcStatus.INVALID_ARGUMENT, "a message carries at most " + MAX_CHUNK + " bytes, not " + m.getData().size());
        return;
      }
      ImportImageChunk chunk = ImportImageChunk.newBuilder().setData(m.getData()).build();
      for (NodeStream s : streams) {
        if (s.live()) {
          s.request.write(chunk);
          if (s.request.writeQueueFull()) {
            s.waiting = true;
            waitingFor++;
            s.request.drainHandler(v -> caller.runOnContext(x -> drained(s)));
          }
        }
      }
      if (waitingFor > 0) {
        call.pause();
      }
    }

    /** {@code s} takes bytes again, or answered (a node that fails while full must not hold the others). */
    private void drained(NodeStream s) {
      if (!s.waiting) {
        return;
      }
      s.waiting = false;
      if (--waitingFor == 0 && !over) {
        call.resume();
      }
    }

    private void start(ImportImageRequest m) {
      if (!m.hasTarget() || !m.getTarget().hasUpload()) {
        refuse(GrpcStatus.INVALID_ARGUMENT, "the first message must be the target: the upload (name, format, sha256,"
            + " size_bytes) and which nodes");
        return;
      }
      ImportTarget target = m.getTarget();
      String problem = problem(target.getUpload());
      if (problem != null) {
        refuse(GrpcStatus.INVALID_ARGUMENT, problem);
        return;
      }
      call.pause();
      readyNodes(target.getNodesList(), target.getNodeSelectorMap(), true).compose(targets -> {
        List<Future<Void>> opened = new ArrayList<>();
        for (StoredNode n : targets) {
          NodeStream s = new NodeStream(n.id());
          streams.add(s);
          s.result.future().onComplete(ar -> caller.runOnContext(x -> drained(s)));
          opened.add(agents.importImage(target(n), target.getUpload()).transform(ar -> {
            if (ar.failed()) {
              s.result.tryComplete(failed(n.id(), ar.cause()));
            } else {
              s.attach(ar.result());
            }
            return Future.<Void>succeededFuture();
          }));
        }
        return Future.join(opened);
      }).onComplete(ar -> {
        if (ar.failed()) {
          refuse(ar.cause());
        } else if (!over) {
          call.resume();
        }
      });
    }

    void end() {
      if (over) {
        return;
      }
      if (!started) {
        refuse(GrpcStatus.INVALID_ARGUMENT, "the stream ended before naming the image");
        return;
      }
      over = true;
      List<Future<NodeImageResult>> results = new ArrayList<>();
      for (NodeStream s : streams) {
        if (s.live()) {
          s.request.end();
        }
        results.add(s.result.future());
      }
      Future.all(results).onComplete(ar -> call.response().end(ImportImageResponse.newBuilder()
          .addAllResults(ar.result().<NodeImageResult>list()).build()));
    }

    void cancel() {
      if (!over) {
        over = true;
        streams.stream().filter(NodeStream::live).forEach(s -> s.request.cancel());
      }
    }

    private void refuse(GrpcStatus status, String message) {
      refuse(new StatusException(status, message));
    }

    private void refuse(Throwable e) {
      cancel();
      call.response().fail(e);
    }
  }

  /** The stream to one node and what the node answered. */
  private final class NodeStream {
    final String node;
    final Promise<NodeImageResult> result = Promise.promise();
    GrpcClientRequest<ImportImageChunk, CatalogImage> request;
    /** Full: the import waits for it (client loop only). */
    boolean waiting;

    NodeStream(String node) {
      this.node = node;
    }

    void attach(GrpcClientRequest<ImportImageChunk, CatalogImage> req) {
      request = req;
      req.response().compose(resp -> resp.last().recover(e -> Future.failedFuture(resp.status() == null ? e
          : new GrpcCallException(resp.status(), StatusMessages.of(resp)))))
          .onComplete(ar -> result.tryComplete(ar.succeeded()
              ? NodeImageResult.newBuilder().setNode(node).setStatus("OK").setMessage("imported").setImage(ar.result()).build()
              : failed(node, ar.cause())));
    }

    /** Still taking bytes: opened, and not yet answered (a node that refused early answers at once). */
    boolean live() {
      return request != null && !result.future().isComplete();
    }
  }

  /**
   * READY nodes: these ids (each must be READY), or every READY node {@code selector} picks; with
   * {@code required}, none is FAILED_PRECONDITION.
   */
  private Future<List<StoredNode>> readyNodes(List<String> ids, Map<String, String> selector, boolean required) {
    return OnContext.call(controlPlane, () -> {
      List<StoredNode> chosen = new ArrayList<>();
      if (!ids.isEmpty()) {
        for (String id : ids) {
          StoredNode n = nodes.get(id);
          if (n == null) {
            return Future.failedFuture(new StatusException(GrpcStatus.NOT_FOUND, "no node " + id + " (see node list)"));
          }
          if (n.state() != NodeState.NODE_STATE_READY) {
            return Future.failedFuture(new StatusException(GrpcStatus.FAILED_PRECONDITION, "node " + id + " is "
                + n.state().name().replace("NODE_STATE_", "") + ", not READY: retry once it is"));
          }
          chosen.add(n);
        }
        return Future.succeededFuture(chosen);
      }
      for (StoredNode n : nodes.all()) {
        if (n.state() == NodeState.NODE_STATE_READY && n.info().getLabelsMap().entrySet().containsAll(selector.entrySet())) {
          chosen.add(n);
        }
      }
      if (chosen.isEmpty() && required) {
        return Future.failedFuture(new StatusException(GrpcStatus.FAILED_PRECONDITION, "no READY node"
            + (selector.isEmpty() ? "" : " carries " + selector) + ": there is nowhere to put the image"));
      }
      return Future.succeededFuture(chosen);
    });
  }

  private static String problem(ImageUpload u) {
    if (!DiskSources.CATALOG_NAME.matcher(u.getName()).matches()) {
      return "upload.name must be a catalog name: 1 to 63 lowercase letters, digits, '.', '_' and '-', starting with a"
          + " letter or digit";
    }
    if (!u.getFormat().equals("raw") && !u.getFormat().equals("qcow2")) {
      return "upload.format must be raw or qcow2";
    }
    if (!SHA256.matcher(u.getSha256()).matches()) {
      return "upload.sha256 must be 64 lowercase hex digits (sha256sum's output)";
    }
    if (u.getSizeBytes() == 0) {
      return "upload.size_bytes must be the image's size in bytes";
    }
    return null;
  }

  private static AgentClients.Target target(StoredNode n) {
    return AgentClients.Target.of(n.id(), n.endpoint());
  }

  private static NodeImageResult ok(String node, String message) {
    return NodeImageResult.newBuilder().setNode(node).setStatus("OK").setMessage(message).build();
  }

  private static NodeImageResult failed(String node, Throwable e) {
    String status = e instanceof GrpcCallException g ? g.status().name() : GrpcStatus.UNAVAILABLE.name();
    return NodeImageResult.newBuilder().setNode(node).setStatus(status).setMessage(describe(e)).build();
  }

  private static String describe(Throwable e) {
    if (e instanceof GrpcCallException g) {
      return g.serverMessage();
    }
    return "the node could not be reached: " + io.mpqemu.errors.Failures.rootMessage(e);
  }
}
