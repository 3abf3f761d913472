package io.mpqemu.controlplane.leadership;

import java.util.Optional;

/**
 * Whether this control plane leads (places, dispatches, restarts, reconciles and records agents' events),
 * and in which fencing epoch: every command to an agent and every write made for leadership carries it.
 */
public interface Leadership {

  /** A control plane that is alone on its store (SQLite, one per data directory): it always leads, in epoch 0. */
  Leadership SOLE = new Leadership() {
    @Override
    public boolean leads() {
      return true;
    }

    @Override
    public long epoch() {
      return 0;
    }

    @Override
    public String id() {
      return "";
    }

    @Override
    public Optional<Term> lastSeen() {
      return Optional.empty();
    }
  };

  boolean leads();

  /** The epoch of the current term; meaningful while {@link #leads}. */
  long epoch();

  /** This control plane's id among those sharing the store ("" when it is alone on it). */
  String id();

  /** The lease as last seen: who leads, in which epoch (empty when alone, or before the first answer). */
  Optional<Term> lastSeen();

  /** For an operator: "leads in epoch 7", "standby: cp-a leads in epoch 7". */
  default String describe() {
    if (leads()) {
      return id().isEmpty() ? "leads (alone on its store)" : "leads in epoch " + epoch();
    }
    return lastSeen().filter(t -> !t.holder().isEmpty())
        .map(t -> t.holder().equals(id())
            ? "not leading now: its own lease (epoch " + t.epoch() + ") is not confirmed; it leads again once the"
                + " database answers and it has taken office"
            : "standby: " + t.holder() + " leads in epoch " + t.epoch())
        .orElse("standby: no leader seen yet");
  }
}
