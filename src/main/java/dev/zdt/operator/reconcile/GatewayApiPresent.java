package dev.zdt.operator.reconcile;

import java.time.Duration;
import java.time.Instant;

import dev.zdt.operator.api.v1alpha1.ZeroDowntimeApp;
import io.fabric8.kubernetes.api.model.gatewayapi.v1.HTTPRoute;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.javaoperatorsdk.operator.api.reconciler.Context;
import io.javaoperatorsdk.operator.api.reconciler.dependent.DependentResource;
import io.javaoperatorsdk.operator.processing.dependent.workflow.Condition;

/**
 * Activates the HTTPRoute dependent only while the API server serves httproutes in
 * gateway.networking.k8s.io/v1: without the Gateway API CRDs an informer on HTTPRoute could not
 * start. Asked through API discovery, which every authenticated client may read, so the operator
 * needs no right on CustomResourceDefinitions. The answer is kept for {@link #RECHECK}, so a
 * cluster that gets the CRDs later is noticed on a reconcile after that (the periodic pass at the
 * latest), without one discovery call per reconcile. JOSDK's own CRDPresentActivationCondition
 * reads the CRD object (an extra cluster-wide right) and stops checking after a fixed count.
 */
public class GatewayApiPresent implements Condition<HTTPRoute, ZeroDowntimeApp> {

    static final Duration RECHECK = Duration.ofSeconds(30);

    private static volatile Boolean served;
    private static volatile Instant checkedAt = Instant.MIN;

    @Override
    public boolean isMet(DependentResource<HTTPRoute, ZeroDowntimeApp> dependentResource, ZeroDowntimeApp app,
            Context<ZeroDowntimeApp> context) {
        return served(context.getClient());
    }

    /** Whether the API server serves HTTPRoute v1, as of at most {@link #RECHECK} ago. */
    public static boolean served(KubernetesClient client) {
        Instant now = Instant.now();
        Boolean known = served;
        if (known != null && now.isBefore(checkedAt.plus(RECHECK))) {
            return known;
        }
        boolean answer;
        try {
            answer = client.supports(HTTPRoute.class);
        } catch (KubernetesClientException e) {
            // Discovery failed: keep the last answer (none yet: absent) and ask again on the next call.
            return known != null && known;
        }
        served = answer;
        checkedAt = now;
        return answer;
    }

    /** Forgets the last answer, so the next call asks: for tests that add or remove the CRDs. */
    public static void forget() {
        served = null;
        checkedAt = Instant.MIN;
    }
}
