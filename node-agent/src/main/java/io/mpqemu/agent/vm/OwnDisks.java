package io.mpqemu.agent.vm;

import java.util.List;

/** The port to the VMs' own disks over catalog bases, which go with their VMs. Blocking. */
public interface OwnDisks {

  /** Removes a VM's own disks: it was deleted, or its first launch failed. */
  void remove(String vmId) throws Exception;

  /** The VM ids that have disks of their own. */
  List<String> vmIds() throws Exception;
}
