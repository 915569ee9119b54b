package io.parley.common;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.InetSocketAddress;
import org.junit.jupiter.api.Test;

/** The URL the startup line prints must be one a user can open. */
class AddressesTest {

  @Test
  void allAddressesBecomeLocalhost() {
    assertThat(Addresses.openableUrl(new InetSocketAddress("0.0.0.0", 8080))).isEqualTo("http://localhost:8080");
    assertThat(Addresses.openableUrl(new InetSocketAddress("::", 8080))).isEqualTo("http://localhost:8080");
  }

  @Test
  void aSpecificAddressIsKept() {
    assertThat(Addresses.openableUrl(new InetSocketAddress("127.0.0.51", 18080))).isEqualTo("http://127.0.0.51:18080");
  }

  @Test
  void ipv6AddressesAreBracketed() {
    assertThat(Addresses.openableUrl(new InetSocketAddress("::1", 8080))).isEqualTo("http://[0:0:0:0:0:0:0:1]:8080");
  }
}
