package io.mpqemu.agent.catalog;

import io.vertx.core.json.JsonObject;
import java.time.Instant;

/** An image in the catalog, as recorded beside it. */
public record CatalogEntry(String name, String format, String sha256, long sizeBytes, long virtualSizeBytes,
    Instant importedAt) {

  JsonObject toJson() {
    return new JsonObject().put("version", 1).put("name", name).put("format", format).put("sha256", sha256)
        .put("sizeBytes", sizeBytes).put("virtualSizeBytes", virtualSizeBytes).put("importedAt", importedAt.toString());
  }

  static CatalogEntry fromJson(JsonObject json) {
    return new CatalogEntry(json.getString("name"), json.getString("format"), json.getString("sha256"),
        json.getLong("sizeBytes"), json.getLong("virtualSizeBytes"), Instant.parse(json.getString("importedAt")));
  }
}
