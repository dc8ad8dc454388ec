package dev.zdt.operator.gate;

import java.util.List;
import java.util.Map;

import jakarta.annotation.PreDestroy;
import jakarta.enterprise.context.ApplicationScoped;

import org.jboss.logging.Logger;

import dev.zdt.operator.api.v1alpha1.DrainPolicy;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.informers.ResourceEventHandler;
import io.fabric8.kubernetes.client.informers.SharedIndexInformer;
import io.fabric8.kubernetes.client.informers.cache.Cache;

/**
 * The DrainPolicies of the watched namespaces, one cache per replica, not tied to leadership: the
 * webhook, the drain gate and warm-in read it on every replica.
 */
@ApplicationScoped
public class Policies {

    /** fabric8's caches index every object by its namespace under this name. */
    private static final String NAMESPACE_INDEX = Cache.NAMESPACE_INDEX;
    private static final Logger LOG = Logger.getLogger(Policies.class);

    private final KubernetesClient client;
    private final Watched watched;
    private SharedIndexInformer<DrainPolicy> informer;
    private boolean started;

    public Policies(KubernetesClient client, Watched watched) {
        this.client = client;
        this.watched = watched;
    }

    private synchronized SharedIndexInformer<DrainPolicy> informer() {
        if (informer == null) {
            informer = watched.informer(client.resources(DrainPolicy.class), Map.of());
            // Keep retrying: the CRD may not exist yet, and the API server may come and go.
            informer.exceptionHandler((isStarted, error) -> {
                LOG.debugf("drain policies informer: %s; retrying", error.getMessage());
                return true;
            });
        }
        return informer;
    }

    /** Adds a handler (told of every policy already cached too); starts the watch on first use. */
    public synchronized void watch(ResourceEventHandler<DrainPolicy> handler) {
        informer().addEventHandler(handler);
        start();
    }

    public synchronized void start() {
        if (!started) {
            started = true;
            informer().start();
        }
    }

    public boolean synced() {
        return started && informer().hasSynced();
    }

    public List<DrainPolicy> inNamespace(String namespace) {
        return informer().getIndexer().byIndex(NAMESPACE_INDEX, namespace);
    }

    /** The policy, or null. */
    public DrainPolicy get(String namespace, String name) {
        return informer().getIndexer().getByKey(Cache.namespaceKeyFunc(namespace, name));
    }

    @PreDestroy
    synchronized void stop() {
        if (informer != null) {
            informer.stop();
        }
    }
}
