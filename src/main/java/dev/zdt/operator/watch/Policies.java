package dev.zdt.operator.watch;

import java.util.List;
import java.util.Map;

import jakarta.enterprise.context.ApplicationScoped;

import dev.zdt.operator.api.v1alpha1.DrainPolicy;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.informers.SharedIndexInformer;
import io.fabric8.kubernetes.client.informers.cache.Cache;

/**
 * The DrainPolicies of the watched namespaces, one cache per replica, not tied to leadership: the
 * webhook, the drain gate and warm-in read it on every replica.
 */
@ApplicationScoped
public class Policies extends SharedInformer<DrainPolicy> {

    /** fabric8's caches index every object by its namespace under this name. */
    private static final String NAMESPACE_INDEX = Cache.NAMESPACE_INDEX;

    private final KubernetesClient client;
    private final Watched watched;

    public Policies(KubernetesClient client, Watched watched) {
        this.client = client;
        this.watched = watched;
    }

    @Override
    protected String what() {
        return "drain policies";
    }

    @Override
    protected SharedIndexInformer<DrainPolicy> create() {
        // The CRD may not exist yet: the informer retries until it does.
        return watched.informer(client.resources(DrainPolicy.class), Map.of());
    }

    public List<DrainPolicy> inNamespace(String namespace) {
        return informer().getIndexer().byIndex(NAMESPACE_INDEX, namespace);
    }

    /** The policy, or null. */
    public DrainPolicy get(String namespace, String name) {
        return informer().getIndexer().getByKey(Cache.namespaceKeyFunc(namespace, name));
    }
}
