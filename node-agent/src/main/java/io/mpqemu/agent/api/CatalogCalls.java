package io.mpqemu.agent.api;

import io.mpqemu.agent.catalog.Catalog;
import io.mpqemu.agent.catalog.CatalogEntry;
import io.mpqemu.agent.catalog.CatalogException;
import io.mpqemu.agent.catalog.Upload;
import io.mpqemu.v1.CatalogImage;
import io.mpqemu.v1.DeleteImageRequest;
import io.mpqemu.v1.DeleteImageResponse;
import io.mpqemu.v1.ImageUpload;
import io.mpqemu.v1.ImportImageChunk;
import io.mpqemu.v1.ListImagesRequest;
import io.mpqemu.v1.ListImagesResponse;
import io.mpqemu.wire.Timestamps;
import io.vertx.core.Future;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;
import io.vertx.core.Vertx;
import io.vertx.grpc.common.GrpcStatus;
import io.vertx.grpc.server.GrpcServerRequest;
import io.vertx.grpc.server.StatusException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * ImportImage, ListImages and DeleteImage: the node's catalog at the gRPC edge. An import's bytes are
 * written on a worker in order, while the next messages arrive; the stream is paused once
 * {@value #IN_FLIGHT} messages wait for the disk, so a fast sender waits for the disk rather than filling
 * the agent's memory.
 */
final class CatalogCalls {

  private static final Logger LOG = LoggerFactory.getLogger(CatalogCalls.class);
  /** The most bytes one message may carry. */
  static final int MAX_CHUNK = 1024 * 1024;
  /** Messages received and not yet written before the stream is paused. */
  static final int IN_FLIGHT = 8;

  private final Vertx vertx;
  private final String nodeId;
  private final Catalog catalog;
  private final Supplier<Future<Map<String, List<String>>>> usage;

  /** @param usage which VMs of the node are based on each image (read on the agent's loop) */
  CatalogCalls(Vertx vertx, String nodeId, Catalog catalog, Supplier<Future<Map<String, List<String>>>> usage) {
    this.vertx = vertx;
    this.nodeId = nodeId;
    this.catalog = catalog;
    this.usage = usage;
  }

  Future<ListImagesResponse> list(ListImagesRequest request) {
    return usage.get().compose(users -> vertx.executeBlocking(() -> {
      ListImagesResponse.Builder b = ListImagesResponse.newBuilder();
      for (CatalogEntry e : catalog.list()) {
        b.addImages(toProto(e).toBuilder().addAllInUseBy(users.getOrDefault(e.name(), List.of())));
      }
      return b.build();
    }, false)).recover(e -> Future.failedFuture(status(e)));
  }

  /**
   * Removes an image no VM of the node is based on. A VM created on it between the check and the removal
   * finds the base gone at its launch (FAILED_PRECONDITION), as if it had come a moment later.
   */
  Future<DeleteImageResponse> delete(DeleteImageRequest request) {
    return usage.get().compose(users -> {
      List<String> by = users.getOrDefault(request.getName(), List.of());
      if (!by.isEmpty()) {
        return Future.failedFuture(new CatalogException(CatalogException.Kind.IN_USE, "image '" + request.getName()
            + "' is the base of VM(s) " + String.join(", ", by) + " on this node: delete them first"));
      }
      return vertx.executeBlocking(() -> {
        catalog.delete(request.getName());
        LOG.info("node={} image {} deleted from the catalog", nodeId, request.getName());
        return DeleteImageResponse.getDefaultInstance();
      }, false);
    }).recover(e -> Future.failedFuture(status(e)));
  }

  void importImage(GrpcServerRequest<ImportImageChunk, CatalogImage> call) {
    Import in = new Import(call);
    call.handler(in::chunk);
    call.endHandler(v -> in.end());
    call.errorHandler(e -> in.abandon("the client cancelled"));
    call.response().exceptionHandler(e -> in.abandon("the connection broke"));
  }

  /** One import; its handlers run on the call's loop, its file work on a worker, in order. */
  private final class Import {
    private final GrpcServerRequest<ImportImageChunk, CatalogImage> call;
    private Future<Catalog.Incoming> incoming;
    private Future<Catalog.Incoming> last;
    private int inFlight;
    private boolean paused;
    private boolean over;

    Import(GrpcServerRequest<ImportImageChunk, CatalogImage> call) {
      this.call = call;
    }

    void chunk(ImportImageChunk chunk) {
      if (over) {
        return;
      }
      if (incoming == null) {
        if (!chunk.hasUpload()) {
          fail(new StatusException(GrpcStatus.INVALID_ARGUMENT, "the first message must declare the upload (name,"
              + " format, sha256, size_bytes)"));
          return;
        }
        ImageUpload u = chunk.getUpload();
        incoming = vertx.executeBlocking(() -> catalog.begin(new Upload(u.getName(), u.getFormat(), u.getSha256(),
            u.getSizeBytes())), true);
        last = incoming;
        step(incoming);
        return;
      }
      if (chunk.hasUpload()) {
        fail(new StatusException(GrpcStatus.INVALID_ARGUMENT, "the upload is declared once, in the first message"));
        return;
      }
      if (chunk.getData().size() > MAX_CHUNK) {
        fail(new StatusException(GrpcStatus.INVALID_ARGUMENT, "a message carries at most " + MAX_CHUNK + " bytes, not "
            + chunk.getData().size()));
        return;
      }
      byte[] data = chunk.getData().toByteArray();
      // each write waits for the one before (ordered on one worker); a failed one fails those after it
      last = last.compose(i -> vertx.executeBlocking(() -> {
        i.write(data);
        return i;
      }, true));
      step(last);
    }

    /** Counts {@code work} in flight, pausing the stream while too much is; a failure ends the import. */
    private void step(Future<Catalog.Incoming> work) {
      if (++inFlight >= IN_FLIGHT && !paused) {
        paused = true;
        call.pause();
      }
      work.onComplete(ar -> {
        inFlight--;
        if (ar.failed()) {
          fail(ar.cause());
        } else if (paused && inFlight <= IN_FLIGHT / 2 && !over) {
          paused = false;
          call.resume();
        }
      });
    }

    void end() {
      if (over) {
        return;
      }
      if (incoming == null) {
        fail(new StatusException(GrpcStatus.INVALID_ARGUMENT, "the stream ended before declaring an upload"));
        return;
      }
      over = true;
      last.compose(i -> vertx.executeBlocking(() -> {
        try (i) {
          return i.commit();
        }
      }, true)).onComplete(ar -> {
        if (ar.succeeded()) {
          CatalogEntry e = ar.result();
          LOG.info("node={} image {} imported: {} bytes, {}, sha256 {}", nodeId, e.name(), e.sizeBytes(), e.format(),
              e.sha256());
          call.response().end(toProto(e));
        } else {
          LOG.info("node={} import refused: {}", nodeId, ar.cause().getMessage());
          call.response().fail(status(ar.cause()));
        }
      });
    }

    private void fail(Throwable cause) {
      if (over) {
        return;
      }
      abandon(cause.getMessage());
      call.response().fail(status(cause));
    }

    /** Nothing of the import is left: its file is removed once any write under way is done. */
    void abandon(String why) {
      if (over) {
        return;
      }
      over = true;
      if (incoming != null) {
        LOG.info("node={} import abandoned: {}", nodeId, why);
        // after every write queued: the file is removed once nothing writes to it
        last.onComplete(ar -> incoming.onSuccess(i -> vertx.executeBlocking(() -> {
          i.close();
          return null;
        }, true)));
      }
    }
  }

  static CatalogImage toProto(CatalogEntry e) {
    return CatalogImage.newBuilder().setName(e.name()).setFormat(e.format()).setSha256(e.sha256())
        .setSizeBytes(e.sizeBytes()).setVirtualSizeBytes(e.virtualSizeBytes()).setImportedAt(Timestamps.of(e.importedAt()))
        .build();
  }

  private static Throwable status(Throwable e) {
    if (e instanceof CatalogException c) {
      return new StatusException(switch (c.kind()) {
        case INVALID -> GrpcStatus.INVALID_ARGUMENT;
        case EXISTS -> GrpcStatus.ALREADY_EXISTS;
        case NOT_FOUND -> GrpcStatus.NOT_FOUND;
        case NO_SPACE -> GrpcStatus.RESOURCE_EXHAUSTED;
        case IN_USE -> GrpcStatus.FAILED_PRECONDITION;
      }, c.getMessage());
    }
    return Statuses.toStatus(e);
  }
}
