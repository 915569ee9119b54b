package io.parley.auth;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.PublicKey;
import java.security.spec.X509EncodedKeySpec;
import java.util.Base64;

/** Reads a PEM public key ({@code -----BEGIN PUBLIC KEY-----}, RSA or EC). */
final class PemKeys {
  private PemKeys() {}

  static PublicKey readPublicKey(String path) throws IOException, GeneralSecurityException {
    String pem = Files.readString(Path.of(path));
    if (!pem.contains("-----BEGIN PUBLIC KEY-----")) {
      throw new GeneralSecurityException(path + ": expected a PEM PUBLIC KEY");
    }
    String base64 = pem.replaceAll("-----(BEGIN|END) PUBLIC KEY-----", "").replaceAll("\\s", "");
    X509EncodedKeySpec spec = new X509EncodedKeySpec(Base64.getDecoder().decode(base64));
    try {
      return KeyFactory.getInstance("RSA").generatePublic(spec);
    } catch (GeneralSecurityException notRsa) {
      return KeyFactory.getInstance("EC").generatePublic(spec);
    }
  }
}
