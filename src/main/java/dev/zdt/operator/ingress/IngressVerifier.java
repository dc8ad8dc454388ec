package dev.zdt.operator.ingress;

import java.util.concurrent.CompletionStage;

import dev.zdt.operator.api.v1alpha1.Provider;
import dev.zdt.operator.api.v1alpha1.ZeroDowntimeApp;

/**
 * Asks an ingress controller or load balancer which pod addresses it still routes to for an app.
 * One class per controller (Traefik first; nginx, haproxy or a cloud load balancer add their own).
 */
public interface IngressVerifier {

    /** Whether this verifier speaks to the given provider. */
    boolean supports(Provider provider);

    /** Name for messages and Events, e.g. "Traefik". */
    String name();

    /**
     * Never fails: an unreachable or unreadable API completes with {@link IngressObservation#unknown}.
     * Must not block the calling thread.
     */
    CompletionStage<IngressObservation> observe(ZeroDowntimeApp app);
}
