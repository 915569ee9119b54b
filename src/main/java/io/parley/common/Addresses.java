package io.parley.common;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import org.apache.pekko.actor.Address;

/** How Parley names its addresses: a cluster node as {@code host:port}, its HTTP side as a URL. */
public final class Addresses {
  private Addresses() {}

  public static String hostPort(Address address) {
    return address.host().get() + ":" + address.port().get();
  }

  /**
   * The URL a user can open for a bound HTTP socket: {@code http://localhost:PORT} when it is
   * bound to all addresses (0.0.0.0 or ::), else its own address ({@code [...]} around IPv6).
   */
  public static String openableUrl(InetSocketAddress bound) {
    InetAddress address = bound.getAddress();
    String host;
    if (address == null) host = bound.getHostString();
    else if (address.isAnyLocalAddress()) host = "localhost";
    else host = address.getHostAddress();
    if (host.contains(":")) host = "[" + host.replaceFirst("%.*$", "") + "]";
    return "http://" + host + ":" + bound.getPort();
  }
}
