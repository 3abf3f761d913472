package io.mpqemu.fleet;

import java.security.InvalidAlgorithmParameterException;
import java.security.KeyStore;
import java.security.KeyStoreException;
import java.security.Provider;
import java.security.Security;
import java.util.Collections;
import java.util.EnumSet;
import java.util.Set;
import javax.net.ssl.ManagerFactoryParameters;
import javax.net.ssl.TrustManager;
import javax.net.ssl.TrustManagerFactory;
import javax.net.ssl.TrustManagerFactorySpi;

/**
 * A trust manager factory that applies the role check to trust stores marked for it.
 *
 * <p>Why it exists: Vert.x builds the clustered event bus's TLS client and server from a JSON copy of
 * {@code EventBusOptions}, which keeps PEM, PKCS#12 and JKS trust but drops a wrapped trust manager.
 * So the event bus gets a PKCS#12 trust store whose CA entries carry an alias that names the allowed
 * roles and the port; Vert.x builds its factory with the default algorithm, which {@link #install()}
 * makes this one. A store without the marker gets plain PKIX, exactly as before.
 */
public final class RoleTrustFactory extends TrustManagerFactorySpi {

  static final String ALGORITHM = "MpqemuRoles";
  static final String MARKER = "mpqemu-roles=";

  private final TrustManagerFactory pkix;
  private TrustManager[] managers;

  public RoleTrustFactory() throws Exception {
    this.pkix = TrustManagerFactory.getInstance("PKIX");
  }

  /** Makes this the JVM's default trust manager algorithm (idempotent). */
  public static synchronized void install() {
    if (Security.getProvider(ALGORITHM) == null) {
      Security.addProvider(new RoleProvider());
    }
    Security.setProperty("ssl.TrustManagerFactory.algorithm", ALGORITHM);
  }

  /** The alias a CA entry gets so that trust built from the store checks {@code roles} (lower case: PKCS#12 folds it). */
  static String alias(Set<Role> roles, String purpose, int index) {
    StringBuilder b = new StringBuilder(MARKER);
    for (Role r : roles) {
      b.append(r).append('+');
    }
    return b.append(";purpose=").append(purpose.replace(';', ' ')).append(";").append(index).toString();
  }

  /** Registers the factory under {@value #ALGORITHM}. */
  private static final class RoleProvider extends Provider {
    private static final long serialVersionUID = 1L;

    RoleProvider() {
      super(ALGORITHM, "1.0", "mpqemu role-checking trust managers");
      putService(new Provider.Service(this, "TrustManagerFactory", ALGORITHM, RoleTrustFactory.class.getName(), null, null));
    }
  }

  @Override
  protected void engineInit(KeyStore ks) throws KeyStoreException {
    pkix.init(ks);
    managers = pkix.getTrustManagers();
    if (ks == null) {
      return;
    }
    for (String alias : Collections.list(ks.aliases())) {
      if (alias.startsWith(MARKER)) {
        String[] parts = alias.substring(MARKER.length()).split(";");
        Set<Role> roles = EnumSet.noneOf(Role.class);
        for (String r : parts[0].split("\\+")) {
          for (Role role : Role.values()) {
            if (role.toString().equals(r)) {
              roles.add(role);
            }
          }
        }
        String purpose = parts.length > 1 ? parts[1].substring("purpose=".length()) : "TLS";
        try {
          managers = new TrustManager[] {new RoleTrustManager(ks, roles, purpose)};
        } catch (Exception e) {
          throw new KeyStoreException("cannot build the role trust manager: " + e.getMessage(), e);
        }
        return;
      }
    }
  }

  @Override
  protected void engineInit(ManagerFactoryParameters spec) throws InvalidAlgorithmParameterException {
    pkix.init(spec);
    managers = pkix.getTrustManagers();
  }

  @Override
  protected TrustManager[] engineGetTrustManagers() {
    if (managers == null) {
      throw new IllegalStateException("not initialized");
    }
    return managers.clone();
  }
}
