package dev.zdt.operator.ingress;

import java.util.Set;
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
     * Asks every replica of the app's front end which of the given addresses it routes to. Never
     * fails: replicas that cannot be found complete with {@link IngressObservation#unknown}, a
     * replica that cannot be asked with {@link ReplicaAnswer#failed}. Must not block the calling
     * thread.
     *
     * @param addresses the app's pod IPs to look for (the gate's pods of the app, terminating or not)
     */
    CompletionStage<IngressObservation> observe(ZeroDowntimeApp app, Set<String> addresses);
}
