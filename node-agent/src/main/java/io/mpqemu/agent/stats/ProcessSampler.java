package io.mpqemu.agent.stats;

import io.mpqemu.errors.Failures;
import io.mpqemu.v1.AgentVm;
import io.mpqemu.v1.ProcessState;
import io.mpqemu.v1.ProcessStatus;
import io.vertx.core.Context;
import io.vertx.core.Future;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The figures of every running QEMU process of this node, read on a worker every {@link #INTERVAL}
 * and kept here: GetVm, ListVms and /metrics answer on the agent's event loop, where reading /proc
 * would block it, so they show the last sample instead, at most one interval old. A figure belongs
 * to a VM, a process name and a pid, and shows only while the VM reports that process running: an
 * exited or deleted process loses its figures at once, not at the next sample. Event loop only.
 */
public final class ProcessSampler {

  private static final Logger LOG = LoggerFactory.getLogger(ProcessSampler.class);

  public static final Duration INTERVAL = Duration.ofSeconds(2);

  private final Context agent;
  private final Supplier<List<AgentVm>> vms;
  private final FigureReader reader;
  private Map<Key, ProcessFigures> latest = Map.of();
  private boolean sampling;
  private long timer = -1;

  /**
   * @param agent the context that owns the VMs: samples run there
   * @param vms the agent's VMs, asked on {@code agent} at each sample
   * @param reader reads one process's figures on a worker
   */
  public ProcessSampler(Context agent, Supplier<List<AgentVm>> vms, FigureReader reader) {
    this.agent = agent;
    this.vms = vms;
    this.reader = reader;
  }

  /** A running process of a VM, with what its last sample found. */
  public record Sample(String vmId, ProcessStatus process, ProcessFigures figures) {}

  private record Key(String vmId, String name, long pid) {}

  /** Samples now, then every {@link #INTERVAL}, each on the agent's context whatever context calls this. */
  public void start() {
    timer = agent.owner().setPeriodic(0, INTERVAL.toMillis(), id -> agent.runOnContext(v -> sample()));
  }

  public void stop() {
    if (timer >= 0) {
      agent.owner().cancelTimer(timer);
      timer = -1;
    }
  }

  /** Reads every running process's figures on a worker; a sample still reading makes this one a no-op. */
  public Future<Void> sample() {
    if (sampling) {
      return Future.succeededFuture();
    }
    List<Key> running = new ArrayList<>();
    for (AgentVm vm : vms.get()) {
      for (ProcessStatus p : vm.getProcessesList()) {
        if (p.getState() == ProcessState.PROCESS_STATE_RUNNING) {
          running.add(new Key(vm.getVmId(), p.getName(), p.getPid()));
        }
      }
    }
    if (running.isEmpty()) {
      latest = Map.of();
      return Future.succeededFuture();
    }
    sampling = true;
    return agent.executeBlocking(() -> read(running), false)
        .onComplete(ar -> sampling = false)
        .onSuccess(read -> latest = read)
        .onFailure(e -> LOG.warn("cannot read the figures of QEMU processes: {}", Failures.describe(e)))
        .mapEmpty();
  }

  private Map<Key, ProcessFigures> read(List<Key> processes) {
    Map<Key, ProcessFigures> read = new HashMap<>();
    for (Key k : processes) {
      reader.read(k.pid()).ifPresent(f -> read.put(k, f));
    }
    return read;
  }

  /**
   * {@code vm} with the last sample's figures in each running process (uid is not a sampled figure: it
   * is set where the process status is made); processes without a sample keep 0.
   */
  public AgentVm withFigures(AgentVm vm) {
    AgentVm.Builder filled = null;
    for (int i = 0; i < vm.getProcessesCount(); i++) {
      ProcessStatus p = vm.getProcesses(i);
      ProcessFigures f = figuresOf(vm.getVmId(), p);
      if (f != null) {
        if (filled == null) {
          filled = vm.toBuilder();
        }
        filled.setProcesses(i, p.toBuilder().setCpuSeconds(f.cpuSeconds()).setRssBytes(f.rssBytes())
            .setCgroupMemoryBytes(f.cgroupMemoryBytes()));
      }
    }
    return filled == null ? vm : filled.build();
  }

  /** The sampled processes that {@code current} (the agent's VMs now) shows running, in its order. */
  public List<Sample> running(List<AgentVm> current) {
    List<Sample> samples = new ArrayList<>();
    for (AgentVm vm : current) {
      for (ProcessStatus p : vm.getProcessesList()) {
        ProcessFigures f = figuresOf(vm.getVmId(), p);
        if (f != null) {
          samples.add(new Sample(vm.getVmId(), p, f));
        }
      }
    }
    return samples;
  }

  private ProcessFigures figuresOf(String vmId, ProcessStatus p) {
    return p.getState() == ProcessState.PROCESS_STATE_RUNNING ? latest.get(new Key(vmId, p.getName(), p.getPid())) : null;
  }
}
