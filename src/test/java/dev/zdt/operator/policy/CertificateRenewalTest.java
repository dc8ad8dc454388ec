package dev.zdt.operator.policy;

import static org.assertj.core.api.Assertions.assertThat;

import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import org.junit.jupiter.api.Test;

/** When the webhook's CA and serving certificate are made and renewed: the pure part of WebhookCertificates. */
class CertificateRenewalTest {

    private static final Duration SERVING = Duration.ofDays(365);
    private static final Duration CA = Duration.ofDays(3650);
    private static final Duration RENEW_BEFORE = Duration.ofDays(30);

    private final WebhookCertificates certificates = new WebhookCertificates(null, new WebhookConfig() {
        public boolean enabled() { return true; }
        public int port() { return 8443; }
        public String configurationName() { return "zdt-operator"; }
        public String serviceName() { return "zdt-operator-webhook"; }
        public Optional<String> namespace() { return Optional.of("zdt-system"); }
        public String secretName() { return "zdt-operator-webhook-tls"; }
        public boolean selfManaged() { return true; }
        public Optional<List<String>> extraNames() { return Optional.empty(); }
        public Duration certificateValidity() { return SERVING; }
        public Duration caValidity() { return CA; }
        public Duration renewBefore() { return RENEW_BEFORE; }
        public Duration checkInterval() { return Duration.ofMinutes(10); }
        public int maxConcurrentReviews() { return 16; }
        public Duration readTimeout() { return Duration.ofSeconds(10); }
    });

    private static X509Certificate first(String pem) {
        return Certificates.certificates(pem).get(0);
    }

    @Test
    void aFirstStartMakesACaAndAServingCertificateItSignsForTheServicesNames() throws Exception {
        Instant now = Instant.parse("2026-12-01T10:00:00Z");
        Map<String, String> made = certificates.renewed(Map.of(), now);
        X509Certificate ca = first(made.get("ca.crt"));
        X509Certificate serving = first(made.get("tls.crt"));
        serving.verify(ca.getPublicKey());
        assertThat(ca.getBasicConstraints()).isGreaterThanOrEqualTo(0);
        assertThat(Certificates.names(serving)).containsExactly("zdt-operator-webhook.zdt-system.svc",
                "zdt-operator-webhook", "zdt-operator-webhook.zdt-system", "zdt-operator-webhook.zdt-system.svc.cluster.local");
        assertThat(serving.getExtendedKeyUsage()).containsExactly("1.3.6.1.5.5.7.3.1");
        // Nothing is due the next time round, nor a day before the renewal window opens.
        assertThat(certificates.renewed(made, now.plusSeconds(600))).isEqualTo(made);
        assertThat(certificates.renewed(made, now.plus(SERVING).minus(RENEW_BEFORE).minus(Duration.ofDays(1)))).isEqualTo(made);
    }

    @Test
    void theServingCertificateIsRenewedFromTheSameCaOnceItsRenewalWindowOpens() throws Exception {
        Instant now = Instant.parse("2026-12-01T10:00:00Z");
        Map<String, String> made = certificates.renewed(Map.of(), now);
        Instant later = now.plus(SERVING).minus(RENEW_BEFORE).plus(Duration.ofDays(1));
        Map<String, String> renewed = certificates.renewed(made, later);
        assertThat(renewed.get("ca.crt")).isEqualTo(made.get("ca.crt"));
        assertThat(renewed.get("tls.crt")).isNotEqualTo(made.get("tls.crt"));
        first(renewed.get("tls.crt")).verify(first(made.get("ca.crt")).getPublicKey());
        assertThat(first(renewed.get("tls.crt")).getNotAfter().toInstant()).isAfter(later.plus(SERVING).minusSeconds(1));
    }

    @Test
    void aCaNearItsEndIsReplacedAndTheOldOneStaysTrustedUntilItExpires() throws Exception {
        Instant now = Instant.parse("2026-12-01T10:00:00Z");
        Map<String, String> made = certificates.renewed(Map.of(), now);
        // The CA could no longer outlive a new serving certificate plus its renewal window.
        Instant late = now.plus(CA).minus(SERVING);
        Map<String, String> renewed = certificates.renewed(made, late);
        List<X509Certificate> bundle = Certificates.certificates(renewed.get("ca.crt"));
        assertThat(bundle).hasSize(2);
        assertThat(bundle.get(1)).isEqualTo(first(made.get("ca.crt")));
        first(renewed.get("tls.crt")).verify(bundle.get(0).getPublicKey());
        // Once the old CA has expired it leaves the bundle.
        Map<String, String> after = certificates.renewed(renewed, now.plus(CA).plus(Duration.ofDays(1)));
        assertThat(Certificates.certificates(after.get("ca.crt"))).hasSize(1).first().isEqualTo(bundle.get(0));
    }
}
