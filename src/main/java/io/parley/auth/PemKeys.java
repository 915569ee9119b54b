package io.parley.auth;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.PublicKey;
import java.security.cert.CertificateFactory;
import java.security.spec.X509EncodedKeySpec;
import java.util.Base64;

/** Reads a PEM public key ({@code PUBLIC KEY}, RSA or EC) or the key of a PEM certificate. */
final class PemKeys {
  private PemKeys() {}

  static PublicKey readPublicKey(String path) throws IOException, GeneralSecurityException {
    String pem = Files.readString(Path.of(path));
    if (pem.contains("-----BEGIN CERTIFICATE-----")) {
      return CertificateFactory.getInstance("X.509")
          .generateCertificate(new ByteArrayInputStream(pem.getBytes()))
          .getPublicKey();
    }
    if (!pem.contains("-----BEGIN PUBLIC KEY-----")) {
      throw new GeneralSecurityException(path + ": expected a PEM PUBLIC KEY or CERTIFICATE");
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
