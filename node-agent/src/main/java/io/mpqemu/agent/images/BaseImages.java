package io.mpqemu.agent.images;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Optional;

/** Where the images a disk may name as its {@code base} are: the node's catalog. */
public interface BaseImages {

  /** An image a disk can be based on. */
  record BaseImage(String name, Path file, String format, long virtualSizeBytes) {}

  Optional<BaseImage> base(String name) throws IOException;

  /** None: a node without a catalog (tests). */
  static BaseImages none() {
    return name -> Optional.empty();
  }
}
