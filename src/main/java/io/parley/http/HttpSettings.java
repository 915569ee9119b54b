package io.parley.http;

import java.util.Set;

/** {@code parley.http}: where to bind and which browser origins may connect (empty: all). */
public record HttpSettings(String host, int port, Set<String> allowedOrigins) {}
