package io.parley.common;

import org.apache.pekko.actor.Address;

/** How Parley names a cluster node: {@code host:port} of its Artery address. */
public final class Addresses {
  private Addresses() {}

  public static String hostPort(Address address) {
    return address.host().get() + ":" + address.port().get();
  }
}
