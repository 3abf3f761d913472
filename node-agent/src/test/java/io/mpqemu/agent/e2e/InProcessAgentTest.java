package io.mpqemu.agent.e2e;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;

/** A test whose every method gets a fresh {@link AgentHarness} with the agent running in this JVM. */
abstract class InProcessAgentTest {

  protected AgentHarness agent;

  @BeforeEach
  void startAgent() throws Exception {
    agent = new AgentHarness().startInProcess();
  }

  @AfterEach
  void closeAgent() throws Exception {
    agent.close();
  }
}
