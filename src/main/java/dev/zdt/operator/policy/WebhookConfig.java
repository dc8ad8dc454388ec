package dev.zdt.operator.policy;

import java.time.Duration;
import java.util.List;
import java.util.Optional;

import io.smallrye.config.ConfigMapping;
import io.smallrye.config.WithDefault;

/** The DrainPolicy admission webhook: its HTTPS port, its certificate, the configuration it keeps in sync. */
@ConfigMapping(prefix = "zdt.webhook")
public interface WebhookConfig {

    /** Serve the webhook (the chart turns it off with webhook.enabled=false). */
    @WithDefault("true")
    boolean enabled();

    /** HTTPS port of the webhook, separate from the gate's port; 0 picks a free one (tests). */
    @WithDefault("8443")
    int port();

    /** Name of the MutatingWebhookConfiguration whose caBundle the operator keeps in sync (installed by the chart). */
    @WithDefault("zdt-operator")
    String configurationName();

    /** Name of the Service in front of the webhook port: the serving certificate is made for its DNS names. */
    @WithDefault("zdt-operator-webhook")
    String serviceName();

    /** Namespace of that Service and of the certificate's Secret; defaults to the operator's own. */
    Optional<String> namespace();

    /** The Secret that holds the CA and the serving certificate (ca.crt, ca.key, tls.crt, tls.key). */
    @WithDefault("zdt-operator-webhook-tls")
    String secretName();

    /**
     * true: the operator makes the CA and serving certificate, renews them and writes the caBundle.
     * false: another tool (cert-manager) writes the Secret and injects the caBundle; the operator
     * only serves what the Secret holds, and reloads it when it changes.
     */
    @WithDefault("true")
    boolean selfManaged();

    /** More names (DNS or IP) the serving certificate is valid for, besides the Service's. */
    Optional<List<String>> extraNames();

    /** Lifetime of a serving certificate the operator makes. */
    @WithDefault("P365D")
    Duration certificateValidity();

    /** Lifetime of the CA the operator makes; renewed CAs are published next to the old one until it expires. */
    @WithDefault("P3650D")
    Duration caValidity();

    /** A certificate is renewed once less than this is left of it. */
    @WithDefault("P30D")
    Duration renewBefore();

    /** How often the Secret, the serving certificate and the caBundle are checked. */
    @WithDefault("10m")
    Duration checkInterval();

    /**
     * Reviews a replica reads or answers at once; one more is answered 429 at once and its
     * connection closed. A review takes milliseconds, so 16 covers bursts of pod creation (the
     * controller manager creates pods at 20-30 a second by default); each costs at most the 3 MiB
     * body cap while it is read, so 16 bound the webhook's buffers at 48 MiB.
     */
    @WithDefault("16")
    int maxConcurrentReviews();

    /**
     * A review whose body has not arrived whole this long after its headers is answered 408 and its
     * connection closed, so a caller that sends a few bytes and stalls holds a slot only this long.
     * The API server gives the webhook at most its timeoutSeconds (5 s in the chart, 30 s at most).
     */
    @WithDefault("10s")
    Duration readTimeout();
}
