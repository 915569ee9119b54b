package io.parley.protocol;


/**
 * A client's correlation id, kept as the JSON it was sent as ({@code "c-17"} or {@code 17}) so
 * replies echo it exactly.
 */
public record RequestId(String json) {}
