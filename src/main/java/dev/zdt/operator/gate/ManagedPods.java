package dev.zdt.operator.gate;

import java.util.Map;

import jakarta.annotation.PreDestroy;
import jakarta.enterprise.context.ApplicationScoped;

import org.jboss.logging.Logger;

import dev.zdt.operator.Constants;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.informers.ResourceEventHandler;
import io.fabric8.kubernetes.client.informers.SharedIndexInformer;

/**
 * The pods the operator drains (its zdt.dev/app label: ZeroDowntimeApps' pods, and DrainPolicies'
 * pods, labelled by the webhook), in the watched namespaces: one cache per
 * replica, shared by the drain gate and warm-in rather than one each. Not tied to leadership:
 * every replica serves the gate and admits pods.
 */
@ApplicationScoped
public class ManagedPods {

    private static final Logger LOG = Logger.getLogger(ManagedPods.class);

    private final KubernetesClient client;
    private final Watched watched;
    private SharedIndexInformer<Pod> informer;
    private boolean started;

    public ManagedPods(KubernetesClient client, Watched watched) {
        this.client = client;
        this.watched = watched;
    }

    /**
     * The shared informer, indexed by {@link GateCache#APP_INDEX} ({@code namespace/app}); not
     * started until the first {@link #watch}. Take it before watching, so that a handler never
     * runs before its owner holds the cache it reads.
     */
    public synchronized SharedIndexInformer<Pod> informer() {
        if (informer == null) {
            // Every pod with an app label: a ZeroDowntimeApp's, and a DrainPolicy's, whose managed-by is its owner's.
            informer = watched.informerWithLabel(client.pods(), Constants.APP_LABEL);
            // Keep retrying: the API server may come and go.
            informer.exceptionHandler((isStarted, error) -> {
                LOG.debugf("managed pods informer: %s; retrying", error.getMessage());
                return true;
            });
            informer.addIndexers(Map.of(GateCache.APP_INDEX, p -> GateCache.keys(p, Constants.APP_LABEL)));
        }
        return informer;
    }

    /** Adds a handler; it is also told of every pod already in the cache. Starts the watch on first use. */
    public synchronized void watch(ResourceEventHandler<Pod> handler) {
        informer().addEventHandler(handler);
        if (!started) {
            started = true;
            informer.start();
        }
    }

    @PreDestroy
    synchronized void stop() {
        if (informer != null) {
            informer.stop();
        }
    }
}
