package io.mpqemu.controlplane.http;

import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.Message;
import com.google.protobuf.util.JsonFormat;
import io.mpqemu.controlplane.api.VmGrpcService;
import io.mpqemu.errors.Echo;
import io.mpqemu.http.HttpErrors;
import io.mpqemu.v1.GetVmRequest;
import io.mpqemu.v1.ListNodesRequest;
import io.mpqemu.v1.ListVmsRequest;
import io.mpqemu.v1.Phase;
import io.mpqemu.v1.VmRef;
import io.vertx.core.Future;
import io.vertx.ext.web.RoutingContext;
import java.util.Arrays;
import java.util.Locale;
import java.util.Set;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

/**
 * Read-only JSON: {@code /v1/vms}, {@code /v1/vms/{id-or-name}}, {@code /v1/nodes}. Each request is
 * the gRPC request of the same name handed to the gRPC service itself, so checks, paging tokens and
 * errors are the same; answers are the same messages in protobuf's JSON form.
 */
final class VmRoutes {

  /** The ids the control plane assigns: a lowercase UUID; anything else names a VM by name. */
  private static final Pattern VM_ID = Pattern.compile("^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$");
  private static final JsonFormat.Printer JSON = JsonFormat.printer().omittingInsignificantWhitespace();
  private static final Set<String> LIST_PARAMS = Set.of("phase", "node", "label_selector", "page_size", "page_token");

  private final VmGrpcService api;

  VmRoutes(VmGrpcService api) {
    this.api = api;
  }

  void list(RoutingContext ctx) {
    Query q = new Query(ctx.queryParams(), LIST_PARAMS);
    ListVmsRequest request = ListVmsRequest.newBuilder()
        .setPhase(phase(q.string("phase", "")))
        .setNode(q.string("node", ""))
        .setLabelSelector(q.string("label_selector", ""))
        .setPageSize(q.number("page_size", 0, Integer.MAX_VALUE))
        .setPageToken(q.string("page_token", ""))
        .build();
    answer(ctx, api.listVms(request));
  }

  void get(RoutingContext ctx) {
    new Query(ctx.queryParams(), Set.of());
    String ref = ctx.pathParam("ref");
    VmRef vm = VM_ID.matcher(ref).matches() ? VmRef.newBuilder().setId(ref).build()
        : VmRef.newBuilder().setName(ref).build();
    answer(ctx, api.getVm(GetVmRequest.newBuilder().setVm(vm).build()));
  }

  void nodes(RoutingContext ctx) {
    new Query(ctx.queryParams(), Set.of());
    answer(ctx, api.listNodes(ListNodesRequest.getDefaultInstance()));
  }

  /** {@code running}, {@code RUNNING} or {@code PHASE_RUNNING}; "" for any phase. */
  static Phase phase(String value) {
    if (value.isEmpty()) {
      return Phase.PHASE_UNSPECIFIED;
    }
    String name = value.toUpperCase(Locale.ROOT);
    for (Phase p : Phase.values()) {
      if (p != Phase.UNRECOGNIZED && p != Phase.PHASE_UNSPECIFIED
          && (p.name().equals(name) || p.name().equals("PHASE_" + name))) {
        return p;
      }
    }
    throw HttpErrors.invalid("phase must be one of " + Arrays.stream(Phase.values())
        .filter(p -> p != Phase.UNRECOGNIZED && p != Phase.PHASE_UNSPECIFIED)
        .map(p -> p.name().substring("PHASE_".length()).toLowerCase(Locale.ROOT))
        .collect(Collectors.joining(", ")) + ", not " + Echo.quote(value));
  }

  private static void answer(RoutingContext ctx, Future<? extends Message> result) {
    result.onSuccess(m -> ctx.response().putHeader("content-type", "application/json").end(json(m) + "\n"))
        .onFailure(e -> HttpErrors.send(ctx.response(), e));
  }

  static String json(Message m) {
    try {
      return JSON.print(m);
    } catch (InvalidProtocolBufferException e) {
      throw new IllegalStateException("cannot print " + m.getDescriptorForType().getName(), e);
    }
  }
}
