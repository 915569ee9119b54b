package io.parley.common;

/**
 * Marker for every message that crosses nodes. Bound to Pekko's Jackson CBOR serializer in
 * {@code conf/serialization.conf}; Java serialization is off.
 */
public interface CborSerializable {}
