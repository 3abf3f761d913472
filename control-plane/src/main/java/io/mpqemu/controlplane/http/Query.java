package io.mpqemu.controlplane.http;

import io.mpqemu.errors.Echo;
import io.mpqemu.http.HttpErrors;
import io.vertx.core.MultiMap;
import java.util.Set;
import java.util.TreeSet;

/** A request's query parameters, checked: an unknown or repeated parameter is refused, as gRPC refuses an unknown field value. */
final class Query {

  private final MultiMap params;

  Query(MultiMap params, Set<String> known) {
    this.params = params;
    for (String name : params.names()) {
      if (!known.contains(name)) {
        throw HttpErrors.invalid("unknown query parameter " + Echo.quote(name) + "; this endpoint takes "
            + (known.isEmpty() ? "none" : String.join(", ", new TreeSet<>(known))));
      }
      if (params.getAll(name).size() > 1) {
        throw HttpErrors.invalid("query parameter " + name + " is given more than once");
      }
    }
  }

  String string(String name, String absent) {
    String v = params.get(name);
    return v == null ? absent : v;
  }

  /** A whole number 0..max, or {@code absent}. */
  int number(String name, int absent, int max) {
    String v = params.get(name);
    if (v == null) {
      return absent;
    }
    if (!v.matches("^[0-9]{1,10}$") || Long.parseLong(v) > max) {
      throw HttpErrors.invalid(name + " must be a whole number from 0 to " + max + ", not " + Echo.quote(v));
    }
    return Integer.parseInt(v);
  }
}
