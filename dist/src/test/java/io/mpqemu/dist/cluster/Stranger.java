package io.mpqemu.dist.cluster;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.security.KeyStore;
import java.security.cert.X509Certificate;
import java.util.List;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManager;
import javax.net.ssl.X509TrustManager;
import org.jgroups.JChannel;
import org.jgroups.protocols.TCP;
import org.jgroups.protocols.TCPPING;
import org.jgroups.protocols.UNICAST3;
import org.jgroups.protocols.pbcast.GMS;
import org.jgroups.protocols.pbcast.NAKACK2;
import org.jgroups.protocols.pbcast.STABLE;
import org.jgroups.util.DefaultSocketFactory;

/** A host that knows the cluster's name and a member's address and tries to join with JGroups of its own. */
final class Stranger {

  private Stranger() {}

  /** A channel on {@code ip:port} that discovers {@code memberIp:memberPort}; TLS when {@code ssl} is not null. */
  static JChannel channel(String ip, int port, String memberIp, int memberPort, SSLContext ssl) throws Exception {
    TCP tcp = new TCP();
    tcp.setBindAddress(InetAddress.getByName(ip));
    tcp.setBindPort(port);
    tcp.setPortRange(0);
    if (ssl != null) {
      tcp.setSocketFactory(new DefaultSocketFactory(ssl));
    }
    TCPPING ping = new TCPPING();
    ping.setInitialHosts(List.of(new InetSocketAddress(InetAddress.getByName(memberIp), memberPort)));
    ping.setPortRange(0);
    return new JChannel(tcp, ping, new NAKACK2(), new UNICAST3(), new STABLE(), new GMS().setJoinTimeout(3000));
  }

  /** TLS that presents {@code keys}' certificate (none when null) and trusts any server, as an attacker's would. */
  static SSLContext tls(KeyStore keys) throws Exception {
    if (keys == null) {
      keys = KeyStore.getInstance("PKCS12");
      keys.load(null, null);
    }
    KeyManagerFactory kmf = KeyManagerFactory.getInstance("PKIX");
    kmf.init(keys, "x".toCharArray());
    SSLContext ctx = SSLContext.getInstance("TLS");
    javax.net.ssl.X509KeyManager km = (javax.net.ssl.X509KeyManager) kmf.getKeyManagers()[0];
    // present the certificate whatever CAs the member asks for (the JDK would otherwise send none)
    javax.net.ssl.X509KeyManager any = new javax.net.ssl.X509KeyManager() {
      @Override
      public String[] getClientAliases(String keyType, java.security.Principal[] issuers) {
        return km.getClientAliases(keyType, null);
      }

      @Override
      public String chooseClientAlias(String[] keyType, java.security.Principal[] issuers, java.net.Socket socket) {
        return km.chooseClientAlias(keyType, null, socket);
      }

      @Override
      public String[] getServerAliases(String keyType, java.security.Principal[] issuers) {
        return km.getServerAliases(keyType, null);
      }

      @Override
      public String chooseServerAlias(String keyType, java.security.Principal[] issuers, java.net.Socket socket) {
        return km.chooseServerAlias(keyType, null, socket);
      }

      @Override
      public X509Certificate[] getCertificateChain(String alias) {
        return km.getCertificateChain(alias);
      }

      @Override
      public java.security.PrivateKey getPrivateKey(String alias) {
        return km.getPrivateKey(alias);
      }
    };
    ctx.init(new javax.net.ssl.KeyManager[] {any}, new TrustManager[] {new X509TrustManager() {
      @Override
      public void checkClientTrusted(X509Certificate[] chain, String authType) {}

      @Override
      public void checkServerTrusted(X509Certificate[] chain, String authType) {}

      @Override
      public X509Certificate[] getAcceptedIssuers() {
        return new X509Certificate[0];
      }
    }}, null);
    return ctx;
  }
}
