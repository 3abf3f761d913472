package io.mpqemu.fleet;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatCode;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.vertx.core.eventbus.EventBusOptions;
import io.vertx.core.net.PfxOptions;
import java.io.ByteArrayInputStream;
import io.mpqemu.testing.ClusterCerts;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.Security;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import javax.net.ssl.TrustManager;
import javax.net.ssl.TrustManagerFactory;
import javax.net.ssl.X509TrustManager;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The default trust manager factory after {@link RoleTrustFactory#install()}, as Vert.x uses it for the event bus. */
class RoleTrustFactoryTest {

  private static final String PROPERTY = "ssl.TrustManagerFactory.algorithm";
  private static final String AUTH_TYPE = "UNKNOWN";

  @TempDir
  static Path dir;
  static ClusterCerts pki;
  static ClusterCerts otherPki;
  static String previousAlgorithm;

  @BeforeAll
  static void install() throws Exception {
    pki = ClusterCerts.ca(dir.resolve("cluster"))
        .make("control-plane", "cp-1")
        .make("node-agent", "host-a")
        .make("node-agent", "host-b")
        .make("client", "alice");
    FleetCerts.expired(pki, "old", "node-agent");
    otherPki = ClusterCerts.ca(dir.resolve("other")).make("node-agent", "intruder");
    previousAlgorithm = Security.getProperty(PROPERTY);
    RoleTrustFactory.install();
  }

  @AfterAll
  static void restore() {
    Security.setProperty(PROPERTY, previousAlgorithm == null ? "PKIX" : previousAlgorithm);
  }

  /** The only X.509 trust manager of the JVM's default factory, initialised with {@code store}. */
  private static X509TrustManager defaultTrust(KeyStore store) throws Exception {
    TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
    assertThat(tmf.getProvider().getName()).as("the installed provider").isEqualTo(RoleTrustFactory.ALGORITHM);
    tmf.init(store);
    TrustManager[] managers = tmf.getTrustManagers();
    assertThat(managers).hasSize(1).allMatch(X509TrustManager.class::isInstance);
    return (X509TrustManager) managers[0];
  }

  private static X509Certificate[] chain(ClusterCerts certs, String name) throws Exception {
    return new X509Certificate[] {certs.cert(name)};
  }

  /** The trust store {@code identity}'s event bus options carry, as Vert.x loads it. */
  private static KeyStore busTrustStore(String identity) throws Exception {
    PfxOptions pfx = (PfxOptions) FleetCerts.tls(pki, identity).eventBus(new EventBusOptions()).getTrustOptions();
    KeyStore store = KeyStore.getInstance("PKCS12");
    store.load(new ByteArrayInputStream(pfx.getValue().getBytes()), pfx.getPassword().toCharArray());
    return store;
  }

  @Test
  @DisplayName("install() makes the role factory the JVM's default trust manager algorithm, and stays idempotent")
  void installed() {
    RoleTrustFactory.install();
    assertThat(TrustManagerFactory.getDefaultAlgorithm()).isEqualTo("MpqemuRoles");
    assertThat(Security.getProviders("TrustManagerFactory.MpqemuRoles")).hasSize(1);
  }

  @Test
  @DisplayName("Initialised with no store, the default factory still trusts the JDK's public CAs")
  void jdkDefault() throws Exception {
    assertThat(defaultTrust(null).getAcceptedIssuers()).isNotEmpty();
  }

  @Test
  @DisplayName("A plain store with the cluster CA gives plain PKIX: any role of the CA, nothing else")
  void plainStore() throws Exception {
    KeyStore store = KeyStore.getInstance("PKCS12");
    store.load(null, null);
    store.setCertificateEntry("cluster-ca", ClusterCerts.read(pki.ca()));
    X509TrustManager trust = defaultTrust(store);
    assertThat(trust).isNotInstanceOf(RoleTrustManager.class);
    assertThatCode(() -> trust.checkClientTrusted(chain(pki, "host-a"), AUTH_TYPE)).doesNotThrowAnyException();
    assertThatCode(() -> trust.checkClientTrusted(chain(pki, "alice"), AUTH_TYPE)).doesNotThrowAnyException();
    assertThatThrownBy(() -> trust.checkClientTrusted(chain(otherPki, "intruder"), AUTH_TYPE))
        .isInstanceOf(CertificateException.class);
  }

  @Test
  @DisplayName("A control plane's event bus store admits node agents and control planes, and refuses clients")
  void controlPlaneBus() throws Exception {
    X509TrustManager trust = defaultTrust(busTrustStore("cp-1"));
    assertThat(trust).isInstanceOf(RoleTrustManager.class);
    assertThatCode(() -> trust.checkClientTrusted(chain(pki, "host-a"), AUTH_TYPE)).doesNotThrowAnyException();
    assertThatCode(() -> trust.checkServerTrusted(chain(pki, "cp-1"), AUTH_TYPE)).doesNotThrowAnyException();
    assertThatThrownBy(() -> trust.checkClientTrusted(chain(pki, "alice"), AUTH_TYPE))
        .isInstanceOf(RoleTrustManager.Refused.class)
        .hasMessage("event bus: refused a peer presenting 'CN=alice,OU=client,O=mpqemu' (role client):"
            + " only control-plane or node-agent may connect here");
  }

  @Test
  @DisplayName("An agent's event bus store refuses other agents: agents talk to control planes only")
  void agentBus() throws Exception {
    X509TrustManager trust = defaultTrust(busTrustStore("host-a"));
    assertThatCode(() -> trust.checkServerTrusted(chain(pki, "cp-1"), AUTH_TYPE)).doesNotThrowAnyException();
    assertThatThrownBy(() -> trust.checkClientTrusted(chain(pki, "host-b"), AUTH_TYPE))
        .isInstanceOf(RoleTrustManager.Refused.class).hasMessageContaining("only control-plane may connect here");
  }

  @Test
  @DisplayName("The event bus store still refuses another CA's agent and an expired agent of the cluster CA")
  void busPkix() throws Exception {
    X509TrustManager trust = defaultTrust(busTrustStore("cp-1"));
    assertThatThrownBy(() -> trust.checkClientTrusted(chain(otherPki, "intruder"), AUTH_TYPE))
        .isInstanceOf(RoleTrustManager.Refused.class).hasMessageContaining("not issued by this cluster's CA");
    assertThatThrownBy(() -> trust.checkClientTrusted(chain(pki, "old"), AUTH_TYPE))
        .isInstanceOf(RoleTrustManager.Refused.class).hasMessageContaining("NotAfter: ");
  }
}
