package dev.zdt.operator.policy;

import java.io.ByteArrayInputStream;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.PrivateKey;
import java.security.SecureRandom;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.security.spec.ECGenParameterSpec;
import java.security.spec.PKCS8EncodedKeySpec;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Collection;
import java.util.Date;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.ExtendedKeyUsage;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.cert.CertIOException;
import org.bouncycastle.cert.X509v3CertificateBuilder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509ExtensionUtils;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.operator.OperatorCreationException;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;

/**
 * The webhook's certificates, made in Java with BouncyCastle's builders and the JDK's EC keys: a
 * CA, and a serving certificate it signs for the webhook Service's DNS names. PEM in, PEM out.
 * Pure: no client, the time is a parameter.
 */
public final class Certificates {

    private static final Pattern PEM = Pattern.compile(
            "-----BEGIN ([A-Z ]+)-----\\s*([A-Za-z0-9+/=\\s]+?)\\s*-----END \\1-----");
    private static final SecureRandom RANDOM = new SecureRandom();

    private Certificates() {
    }

    /** A certificate and its key, each PEM. */
    public record Issued(String certPem, String keyPem) {
    }

    public static Issued ca(String commonName, Instant now, Duration validity) {
        KeyPair keys = ecKeys();
        try {
            X500Name subject = new X500Name("CN=" + commonName);
            X509v3CertificateBuilder b = new JcaX509v3CertificateBuilder(subject, serial(), Date.from(now.minusSeconds(300)),
                    Date.from(now.plus(validity)), subject, keys.getPublic());
            JcaX509ExtensionUtils ext = new JcaX509ExtensionUtils();
            b.addExtension(Extension.basicConstraints, true, new BasicConstraints(0));
            b.addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.keyCertSign | KeyUsage.cRLSign));
            b.addExtension(Extension.subjectKeyIdentifier, false, ext.createSubjectKeyIdentifier(keys.getPublic()));
            return new Issued(pem("CERTIFICATE", sign(b, keys.getPrivate()).getEncoded()),
                    pem("PRIVATE KEY", keys.getPrivate().getEncoded()));
        } catch (GeneralSecurityException | CertIOException e) {
            throw new IllegalStateException("could not make the webhook's CA: " + e.getMessage(), e);
        }
    }

    /** A serving certificate for {@code names} (DNS names, or IP addresses), signed by the CA. */
    public static Issued serving(Issued ca, List<String> names, Instant now, Duration validity) {
        KeyPair keys = ecKeys();
        try {
            X509Certificate caCert = certificates(ca.certPem()).get(0);
            GeneralName[] sans = names.stream()
                    .map(n -> new GeneralName(isIp(n) ? GeneralName.iPAddress : GeneralName.dNSName, n))
                    .toArray(GeneralName[]::new);
            X509v3CertificateBuilder b = new JcaX509v3CertificateBuilder(caCert, serial(), Date.from(now.minusSeconds(300)),
                    Date.from(now.plus(validity)), new X500Name("CN=" + names.get(0)), keys.getPublic());
            JcaX509ExtensionUtils ext = new JcaX509ExtensionUtils();
            b.addExtension(Extension.basicConstraints, true, new BasicConstraints(false));
            b.addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.digitalSignature | KeyUsage.keyEncipherment));
            b.addExtension(Extension.extendedKeyUsage, false, new ExtendedKeyUsage(KeyPurposeId.id_kp_serverAuth));
            b.addExtension(Extension.subjectAlternativeName, false, new GeneralNames(sans));
            b.addExtension(Extension.authorityKeyIdentifier, false, ext.createAuthorityKeyIdentifier(caCert));
            return new Issued(pem("CERTIFICATE", sign(b, privateKey(ca.keyPem())).getEncoded()),
                    pem("PRIVATE KEY", keys.getPrivate().getEncoded()));
        } catch (GeneralSecurityException | CertIOException e) {
            throw new IllegalStateException("could not make the webhook's serving certificate: " + e.getMessage(), e);
        }
    }

    /** Every certificate of a PEM bundle, in order. */
    public static List<X509Certificate> certificates(String pem) {
        try {
            CertificateFactory f = CertificateFactory.getInstance("X.509");
            Collection<? extends java.security.cert.Certificate> all = f.generateCertificates(
                    new ByteArrayInputStream(pem.getBytes(StandardCharsets.US_ASCII)));
            List<X509Certificate> out = new ArrayList<>();
            all.forEach(c -> out.add((X509Certificate) c));
            return out;
        } catch (GeneralSecurityException e) {
            throw new IllegalArgumentException("not a PEM certificate bundle: " + e.getMessage(), e);
        }
    }

    /** The names a certificate is valid for (its DNS and IP subject alternative names). */
    public static List<String> names(X509Certificate cert) {
        List<String> out = new ArrayList<>();
        try {
            if (cert.getSubjectAlternativeNames() != null) {
                cert.getSubjectAlternativeNames().forEach(san -> out.add(String.valueOf(san.get(1))));
            }
        } catch (GeneralSecurityException e) {
            return out;
        }
        return out;
    }

    static PrivateKey privateKey(String pem) throws GeneralSecurityException {
        Matcher m = PEM.matcher(pem);
        if (!m.find() || !"PRIVATE KEY".equals(m.group(1))) {
            throw new GeneralSecurityException("no PKCS#8 PRIVATE KEY block");
        }
        byte[] der = Base64.getMimeDecoder().decode(m.group(2));
        return KeyFactory.getInstance("EC").generatePrivate(new PKCS8EncodedKeySpec(der));
    }

    static String pem(String type, byte[] der) {
        return "-----BEGIN " + type + "-----\n" + Base64.getMimeEncoder(64, new byte[] { '\n' }).encodeToString(der)
                + "\n-----END " + type + "-----\n";
    }

    private static X509Certificate sign(X509v3CertificateBuilder b, PrivateKey key) throws GeneralSecurityException {
        try {
            return new JcaX509CertificateConverter().getCertificate(
                    b.build(new JcaContentSignerBuilder("SHA256withECDSA").build(key)));
        } catch (OperatorCreationException e) {
            throw new GeneralSecurityException(e);
        }
    }

    private static KeyPair ecKeys() {
        try {
            KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
            g.initialize(new ECGenParameterSpec("secp256r1"), RANDOM);
            return g.generateKeyPair();
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("EC P-256 is part of every Java runtime", e);
        }
    }

    private static BigInteger serial() {
        return new BigInteger(127, RANDOM);
    }

    private static boolean isIp(String name) {
        return name.matches("[0-9.]+") || name.contains(":");
    }
}
