package io.mpqemu.fleet;

import java.io.ObjectInputFilter;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Java deserialization in a fleet member, limited to an allow-list. vertx-infinispan reads what peers
 * put in its maps with a plain {@code ObjectInputStream} when the value was Java-serialized (its own
 * node and subscription records are not: they are {@code ClusterSerializable}), and JGroups would for
 * an object message; neither needs more than strings, boxed numbers and a few collections. So this JVM
 * gets a process-wide filter ({@link ObjectInputFilter.Config#setSerialFilter}) that allows those and
 * refuses every other class, with a log line; depth, references and size are bounded too. An operator's
 * own {@code -Djdk.serialFilter} is kept as it is (it is the JDK's, and may not be replaced).
 */
final class SerialFilter implements ObjectInputFilter {

  private static final Logger LOG = LoggerFactory.getLogger("io.mpqemu.fleet.Refused");

  /** Classes a member may read from a peer; everything else is refused. */
  static final Set<String> ALLOWED = Set.of(
      "java.lang.String", "java.lang.Boolean", "java.lang.Character", "java.lang.Byte", "java.lang.Short",
      "java.lang.Integer", "java.lang.Long", "java.lang.Float", "java.lang.Double", "java.lang.Number",
      "java.lang.Enum", "java.math.BigInteger", "java.math.BigDecimal",
      "java.util.ArrayList", "java.util.LinkedList", "java.util.HashMap", "java.util.LinkedHashMap",
      "java.util.TreeMap", "java.util.HashSet", "java.util.LinkedHashSet", "java.util.TreeSet", "java.util.UUID",
      "java.util.Collections$UnmodifiableList", "java.util.Collections$UnmodifiableRandomAccessList",
      "java.util.Collections$UnmodifiableCollection", "java.util.Collections$UnmodifiableMap",
      "java.util.Collections$UnmodifiableSet", "java.util.Collections$EmptyList", "java.util.Collections$EmptyMap",
      "java.util.Collections$EmptySet", "java.util.Collections$SingletonList", "java.util.ImmutableCollections$SerialForm");
  static final long MAX_DEPTH = 20;
  static final long MAX_REFERENCES = 10_000;
  static final long MAX_BYTES = 16L * 1024 * 1024;
  static final long MAX_ARRAY = 1_000_000;

  private static boolean installed;

  private SerialFilter() {}

  /** Installs the filter for this JVM unless one is set already (ours, or the operator's). */
  static synchronized void install() {
    if (installed) {
      return;
    }
    installed = true;
    ObjectInputFilter current = ObjectInputFilter.Config.getSerialFilter();
    if (current != null) {
      LOG.info("Java deserialization: keeping this JVM's filter ({}) instead of mpqemu's allow-list", current);
      return;
    }
    ObjectInputFilter.Config.setSerialFilter(new SerialFilter());
  }

  @Override
  public Status checkInput(FilterInfo info) {
    if (info.depth() > MAX_DEPTH || info.references() > MAX_REFERENCES || info.streamBytes() > MAX_BYTES
        || info.arrayLength() > MAX_ARRAY) {
      LOG.warn("Java deserialization: refused a stream past the limits (depth {}, references {}, bytes {}, array {})",
          info.depth(), info.references(), info.streamBytes(), info.arrayLength());
      return Status.REJECTED;
    }
    Class<?> c = info.serialClass();
    if (c == null) {
      return Status.UNDECIDED;
    }
    boolean array = c.isArray();
    while (c.isArray()) {
      c = c.getComponentType();
    }
    if (c.isPrimitive() || array && c == Object.class // an ArrayList's elements: each is checked in turn
         || ALLOWED.contains(c.getName()) || c.isEnum() && c.getName().startsWith("io.vertx.")) {
      return Status.ALLOWED;
    }
    LOG.warn("Java deserialization: refused class {} (not on mpqemu's allow-list)", c.getName());
    return Status.REJECTED;
  }
}
