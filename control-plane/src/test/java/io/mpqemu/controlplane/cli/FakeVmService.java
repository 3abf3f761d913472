package io.mpqemu.controlplane.cli;

import com.google.protobuf.Message;
import io.mpqemu.v1.CreateVmRequest;
import io.mpqemu.v1.DeleteVmRequest;
import io.mpqemu.v1.DeleteVmResponse;
import io.mpqemu.v1.DesiredState;
import io.mpqemu.v1.GetConsoleLogRequest;
import io.mpqemu.v1.GetConsoleLogResponse;
import io.mpqemu.v1.GetVmRequest;
import io.mpqemu.v1.ListNodesRequest;
import io.mpqemu.v1.ListNodesResponse;
import io.mpqemu.v1.ListVmsRequest;
import io.mpqemu.v1.ListVmsResponse;
import io.mpqemu.v1.StartVmRequest;
import io.mpqemu.v1.StopVmRequest;
import io.mpqemu.v1.UpdateVmRequest;
import io.mpqemu.v1.Vm;
import io.mpqemu.v1.VmEvent;
import io.mpqemu.v1.VmServiceGrpcService;
import io.mpqemu.v1.WatchEventsRequest;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServer;
import io.vertx.core.streams.WriteStream;
import io.vertx.grpc.common.GrpcStatus;
import io.vertx.grpc.server.GrpcServer;
import io.vertx.grpc.server.GrpcServerResponse;
import io.vertx.grpc.server.StatusException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Function;

/** A VmService with canned answers that records every request, served over TCP on 127.0.0.1. */
final class FakeVmService extends VmServiceGrpcService {

  private final List<Message> requests = new CopyOnWriteArrayList<>();

  /** Answers GetVm; NOT_FOUND for everything by default. */
  Function<GetVmRequest, Future<Vm>> getVm =
      r -> Future.failedFuture(new StatusException(GrpcStatus.NOT_FOUND, "no VM " + r.getVm()));
  /** ListVms pages by page_token. */
  final Map<String, ListVmsResponse> pages = new HashMap<>();
  /** Answers StartVm, StopVm and UpdateVm. */
  Function<Message, Future<Vm>> startStop = r -> Future.succeededFuture(Vm.getDefaultInstance());
  ListNodesResponse nodes = ListNodesResponse.getDefaultInstance();
  io.mpqemu.v1.ListControlPlanesResponse controlPlanes = io.mpqemu.v1.ListControlPlanesResponse.getDefaultInstance();
  GetConsoleLogResponse console = GetConsoleLogResponse.getDefaultInstance();
  /**
   * WatchEvents sends these, then fails with {@link #endEventsWith} when it is set, ends the stream
   * when the request asks to stop at the end, and keeps it open otherwise: as the real server does.
   */
  final List<VmEvent> events = new ArrayList<>();
  StatusException endEventsWith;

  private Vertx vertx;

  int start() {
    vertx = Vertx.vertx();
    GrpcServer grpc = GrpcServer.server(vertx);
    grpc.addService(this);
    HttpServer http = vertx.createHttpServer().requestHandler(grpc);
    return http.listen(0, "127.0.0.1").await().actualPort();
  }

  void stop() {
    vertx.close().await();
  }

  <T extends Message> List<T> requests(Class<T> type) {
    return requests.stream().filter(type::isInstance).map(type::cast).toList();
  }

  <T extends Message> T only(Class<T> type) {
    List<T> seen = requests(type);
    if (seen.size() != 1) {
      throw new AssertionError("expected one " + type.getSimpleName() + ", got " + seen);
    }
    return seen.get(0);
  }

  @Override
  public Future<Vm> createVm(CreateVmRequest request) {
    requests.add(request);
    DesiredState desired = request.getDesiredState() == DesiredState.DESIRED_STATE_UNSPECIFIED
        ? DesiredState.RUNNING : request.getDesiredState();
    return Future.succeededFuture(Vm.newBuilder().setId("0b7c2d9e-5a1f-4c3b-9d8e-7f6a5b4c3d2e")
        .setSpec(request.getSpec()).setDesiredState(desired).build());
  }

  @Override
  public Future<Vm> getVm(GetVmRequest request) {
    requests.add(request);
    return getVm.apply(request);
  }

  @Override
  public Future<ListVmsResponse> listVms(ListVmsRequest request) {
    requests.add(request);
    ListVmsResponse page = pages.get(request.getPageToken());
    return page == null
        ? Future.failedFuture(new StatusException(GrpcStatus.INVALID_ARGUMENT, "bad page_token " + request.getPageToken()))
        : Future.succeededFuture(page);
  }

  @Override
  public Future<Vm> startVm(StartVmRequest request) {
    requests.add(request);
    return startStop.apply(request);
  }

  @Override
  public Future<Vm> stopVm(StopVmRequest request) {
    requests.add(request);
    return startStop.apply(request);
  }

  @Override
  public Future<Vm> updateVm(UpdateVmRequest request) {
    requests.add(request);
    return startStop.apply(request);
  }

  @Override
  public Future<DeleteVmResponse> deleteVm(DeleteVmRequest request) {
    requests.add(request);
    return Future.succeededFuture(DeleteVmResponse.getDefaultInstance());
  }

  @Override
  public Future<ListNodesResponse> listNodes(ListNodesRequest request) {
    requests.add(request);
    return Future.succeededFuture(nodes);
  }

  @Override
  public Future<io.mpqemu.v1.ListControlPlanesResponse> listControlPlanes(io.mpqemu.v1.ListControlPlanesRequest request) {
    requests.add(request);
    return Future.succeededFuture(controlPlanes);
  }

  @Override
  public Future<GetConsoleLogResponse> getConsoleLog(GetConsoleLogRequest request) {
    requests.add(request);
    return Future.succeededFuture(console);
  }

  @Override
  protected void watchEvents(WatchEventsRequest request, WriteStream<VmEvent> response) {
    requests.add(request);
    events.stream().filter(e -> e.getSeq() > request.getFromSeq()).forEach(response::write);
    if (endEventsWith != null) {
      ((GrpcServerResponse<?, VmEvent>) response).fail(endEventsWith);
    } else if (request.getStopAtEnd()) {
      response.end();
    }
  }
}
