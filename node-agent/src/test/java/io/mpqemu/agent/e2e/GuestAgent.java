package io.mpqemu.agent.e2e;

import io.mpqemu.testing.TestGuest;
import java.nio.file.Path;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * An agent for the tests that boot the real Debian guest: the guest built (once), an agent started in this
 * JVM with the guest's kernel and initrd in its image root as {@code vmlinuz} and {@code initrd.img}, and
 * closed after the class. Register it as a static field with {@code @RegisterExtension}.
 */
final class GuestAgent implements BeforeAllCallback, AfterAllCallback {

  private Path guest;
  private AgentHarness agent;

  @Override
  public void beforeAll(ExtensionContext context) throws Exception {
    guest = TestGuest.ensureBuilt();
    agent = new AgentHarness().startInProcess();
    TestGuest.copyBootFiles(guest, agent.imageRoot);
  }

  @Override
  public void afterAll(ExtensionContext context) throws Exception {
    if (agent != null) {
      agent.close();
    }
  }

  AgentHarness agent() {
    return agent;
  }

  /** The directory of the built guest (its root.img among others). */
  Path guest() {
    return guest;
  }
}
