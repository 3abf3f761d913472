package io.mpqemu.controlplane.leadership;

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
  };

  boolean leads();

  /** The epoch of the current term; meaningful while {@link #leads}. */
  long epoch();
}
