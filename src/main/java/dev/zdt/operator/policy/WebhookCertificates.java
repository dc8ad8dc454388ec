package dev.zdt.operator.policy;

import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.stream.Collectors;

import jakarta.enterprise.context.ApplicationScoped;

import org.jboss.logging.Logger;

import io.fabric8.kubernetes.api.model.OwnerReference;
import io.fabric8.kubernetes.api.model.OwnerReferenceBuilder;
import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.api.model.SecretBuilder;
import io.fabric8.kubernetes.api.model.admissionregistration.v1.MutatingWebhook;
import io.fabric8.kubernetes.api.model.admissionregistration.v1.MutatingWebhookConfiguration;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;

/**
 * The webhook's certificate, managed the way production operators do it: a CA and a serving
 * certificate in one Secret, made on first start, renewed before they expire, and the CA bundle
 * written into the MutatingWebhookConfiguration. Every replica runs {@link #ensure} on a timer;
 * writes go through the Secret's resourceVersion, so two replicas renewing at once agree on one
 * result (the loser reads the winner's). A renewed CA is published next to the old one until the
 * old one expires, so a replica still serving a certificate of the old CA stays trusted. The Secret
 * is owned by the webhook configuration: uninstalling the chart removes both.
 */
@ApplicationScoped
public class WebhookCertificates {

    static final String CA_CERT = "ca.crt";
    static final String CA_KEY = "ca.key";
    static final String TLS_CERT = "tls.crt";
    static final String TLS_KEY = "tls.key";
    private static final Logger LOG = Logger.getLogger(WebhookCertificates.class);
    private static final int ATTEMPTS = 3;

    private final KubernetesClient client;
    private final WebhookConfig config;

    public WebhookCertificates(KubernetesClient client, WebhookConfig config) {
        this.client = client;
        this.config = config;
    }

    /** What the webhook serves with, and the CAs that trust it. */
    public record Material(String certPem, String keyPem, String caBundlePem, Instant notAfter,
            boolean configurationFound) {
    }

    public String namespace() {
        return config.namespace().orElseGet(() -> client.getNamespace());
    }

    /** The names the serving certificate must cover: the Service's, then the configured extra ones. */
    public List<String> names() {
        String svc = config.serviceName();
        String ns = namespace();
        List<String> names = new ArrayList<>(List.of(svc + "." + ns + ".svc", svc, svc + "." + ns,
                svc + "." + ns + ".svc.cluster.local"));
        config.extraNames().ifPresent(extra -> extra.stream().map(String::trim).filter(s -> !s.isEmpty())
                .filter(s -> !names.contains(s)).forEach(names::add));
        return names;
    }

    /**
     * Makes or renews what is due, writes the caBundle, and returns what to serve.
     *
     * @throws KubernetesClientException when the API server cannot be read or written
     * @throws IllegalStateException when the Secret is not usable (not self-managed and missing or broken)
     */
    public Material ensure(Instant now) {
        for (int attempt = 1; ; attempt++) {
            Secret secret = client.secrets().inNamespace(namespace()).withName(config.secretName()).get();
            if (!config.selfManaged()) {
                return read(secret, true);
            }
            Map<String, String> current = secret == null ? Map.of() : decoded(secret);
            Map<String, String> wanted = renewed(current, now);
            try {
                if (secret == null) {
                    secret = client.resource(new SecretBuilder().withNewMetadata().withName(config.secretName())
                            .withNamespace(namespace()).withLabels(Map.of("app.kubernetes.io/managed-by", "zdt-operator"))
                            .endMetadata().withType("kubernetes.io/tls").withData(encoded(wanted)).build()).create();
                    LOG.infof("webhook certificate: made a CA and a serving certificate for %s in Secret %s/%s",
                            names(), namespace(), config.secretName());
                } else if (!wanted.equals(current)) {
                    secret.setData(encoded(wanted));
                    secret = client.resource(secret).update();
                    LOG.infof("webhook certificate: renewed in Secret %s/%s", namespace(), config.secretName());
                }
            } catch (KubernetesClientException e) {
                if ((e.getCode() == 409 || e.getCode() == 422) && attempt < ATTEMPTS) {
                    continue; // another replica wrote first: use what it wrote
                }
                throw e;
            }
            return read(secret, syncConfiguration(secret, wanted.get(CA_CERT)));
        }
    }

    /** The Secret's contents with whatever is due renewed; the same map when nothing is. */
    Map<String, String> renewed(Map<String, String> current, Instant now) {
        Duration renewBefore = config.renewBefore();
        Map<String, String> out = new LinkedHashMap<>(current);
        List<X509Certificate> bundle = parse(current.get(CA_CERT));
        X509Certificate ca = bundle.isEmpty() ? null : bundle.get(0);
        boolean newCa = ca == null || current.get(CA_KEY) == null
                // The CA must outlive every serving certificate it signs, renewal window included.
                || ca.getNotAfter().toInstant().isBefore(now.plus(config.certificateValidity()).plus(renewBefore));
        Certificates.Issued caPair;
        if (newCa) {
            caPair = Certificates.ca("zdt-operator-webhook-ca", now, config.caValidity());
            // Old CAs stay trusted until they expire: replicas may still serve certificates they signed.
            String kept = bundle.stream().filter(c -> c.getNotAfter().toInstant().isAfter(now))
                    .map(c -> pem(c)).collect(Collectors.joining());
            out.put(CA_CERT, caPair.certPem() + kept);
            out.put(CA_KEY, caPair.keyPem());
        } else {
            caPair = new Certificates.Issued(pem(ca), current.get(CA_KEY));
            List<X509Certificate> live = bundle.stream().filter(c -> c.getNotAfter().toInstant().isAfter(now)).toList();
            if (live.size() != bundle.size()) {
                out.put(CA_CERT, live.stream().map(WebhookCertificates::pem).collect(Collectors.joining()));
            }
        }
        List<X509Certificate> serving = parse(current.get(TLS_CERT));
        boolean renew = newCa || serving.isEmpty() || current.get(TLS_KEY) == null
                || serving.get(0).getNotAfter().toInstant().isBefore(now.plus(renewBefore))
                || !Certificates.names(serving.get(0)).containsAll(names())
                || !signedBy(serving.get(0), ca);
        if (renew) {
            Certificates.Issued s = Certificates.serving(caPair, names(), now, config.certificateValidity());
            out.put(TLS_CERT, s.certPem());
            out.put(TLS_KEY, s.keyPem());
        }
        return out;
    }

    /** The caBundle into every webhook of the configuration; the Secret owned by the configuration. False: no configuration yet. */
    private boolean syncConfiguration(Secret secret, String caBundlePem) {
        MutatingWebhookConfiguration mwc = client.admissionRegistration().v1().mutatingWebhookConfigurations()
                .withName(config.configurationName()).get();
        if (mwc == null) {
            LOG.debugf("no MutatingWebhookConfiguration %s yet; its caBundle is written once it exists",
                    config.configurationName());
            return false;
        }
        String bundle = Base64.getEncoder().encodeToString(caBundlePem.getBytes(StandardCharsets.US_ASCII));
        boolean stale = mwc.getWebhooks() != null && mwc.getWebhooks().stream()
                .map(MutatingWebhook::getClientConfig).anyMatch(c -> c != null && !bundle.equals(c.getCaBundle()));
        if (stale) {
            client.admissionRegistration().v1().mutatingWebhookConfigurations().withName(config.configurationName())
                    .edit(m -> {
                        m.getWebhooks().forEach(w -> w.getClientConfig().setCaBundle(bundle));
                        return m;
                    });
            LOG.infof("webhook certificate: caBundle written into MutatingWebhookConfiguration %s",
                    config.configurationName());
        }
        OwnerReference owner = new OwnerReferenceBuilder().withApiVersion("admissionregistration.k8s.io/v1")
                .withKind("MutatingWebhookConfiguration").withName(mwc.getMetadata().getName())
                .withUid(mwc.getMetadata().getUid()).build();
        List<OwnerReference> owners = secret.getMetadata().getOwnerReferences();
        if (owners == null || owners.stream().noneMatch(o -> Objects.equals(o.getUid(), owner.getUid()))) {
            client.secrets().inNamespace(namespace()).withName(config.secretName())
                    .edit(s -> {
                        s.getMetadata().setOwnerReferences(List.of(owner));
                        return s;
                    });
        }
        return true;
    }

    private Material read(Secret secret, boolean configurationFound) {
        if (secret == null) {
            throw new IllegalStateException("no Secret " + namespace() + "/" + config.secretName()
                    + " with the webhook's certificate (zdt.webhook.self-managed=false: cert-manager or another tool writes it)");
        }
        Map<String, String> data = decoded(secret);
        if (data.get(TLS_CERT) == null || data.get(TLS_KEY) == null) {
            throw new IllegalStateException("Secret " + namespace() + "/" + config.secretName() + " has no "
                    + TLS_CERT + " and " + TLS_KEY);
        }
        List<X509Certificate> serving = parse(data.get(TLS_CERT));
        Instant notAfter = serving.isEmpty() ? null : serving.get(0).getNotAfter().toInstant();
        return new Material(data.get(TLS_CERT), data.get(TLS_KEY), data.getOrDefault(CA_CERT, ""), notAfter,
                configurationFound);
    }

    private static boolean signedBy(X509Certificate cert, X509Certificate ca) {
        try {
            cert.verify(ca.getPublicKey());
            return true;
        } catch (GeneralSecurityException e) {
            return false;
        }
    }

    private static List<X509Certificate> parse(String pem) {
        if (pem == null || pem.isBlank()) {
            return List.of();
        }
        try {
            return Certificates.certificates(pem);
        } catch (IllegalArgumentException e) {
            return List.of();
        }
    }

    private static String pem(X509Certificate c) {
        try {
            return Certificates.pem("CERTIFICATE", c.getEncoded());
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException(e);
        }
    }

    private static Map<String, String> decoded(Secret secret) {
        Map<String, String> out = new LinkedHashMap<>();
        if (secret.getData() != null) {
            secret.getData().forEach((k, v) -> out.put(k, new String(Base64.getDecoder().decode(v), StandardCharsets.US_ASCII)));
        }
        return out;
    }

    private static Map<String, String> encoded(Map<String, String> data) {
        Map<String, String> out = new LinkedHashMap<>();
        data.forEach((k, v) -> out.put(k, Base64.getEncoder().encodeToString(v.getBytes(StandardCharsets.US_ASCII))));
        return out;
    }
}
