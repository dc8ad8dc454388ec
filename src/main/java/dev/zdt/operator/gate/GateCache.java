package dev.zdt.operator.gate;

import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import java.util.function.Function;

import org.jboss.logging.Logger;

import dev.zdt.operator.Constants;
import dev.zdt.operator.api.v1alpha1.ZeroDowntimeApp;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointSlice;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.informers.ResourceEventHandler;
import io.fabric8.kubernetes.client.informers.SharedIndexInformer;

/**
 * What the drain gate reads of the cluster: the ZeroDowntimeApps, the pods the operator manages
 * (the cache shared with warm-in, {@link ManagedPods}) and their EndpointSlices, each indexed by
 * {@code namespace/app}. Every replica keeps its own, not tied to leadership. Any change is
 * reported as the key of the app it concerns; what changed is read back from the cache.
 */
final class GateCache {

    /** Index of pods and EndpointSlices by {@code namespace/app}. */
    static final String APP_INDEX = "zdt-app";
    private static final String SERVICE_NAME_LABEL = "kubernetes.io/service-name";
    private static final Logger LOG = Logger.getLogger(GateCache.class);

    private final KubernetesClient client;
    private final ManagedPods managedPods;
    private final Watched watched;

    private volatile SharedIndexInformer<ZeroDowntimeApp> apps;
    private volatile SharedIndexInformer<Pod> pods;
    private volatile SharedIndexInformer<EndpointSlice> slices;

    GateCache(KubernetesClient client, ManagedPods managedPods, Watched watched) {
        this.client = client;
        this.managedPods = managedPods;
        this.watched = watched;
    }

    /** Starts the informers once; {@code changed} gets the {@code namespace/app} key of every add, update and delete. */
    synchronized void start(Consumer<String> changed) {
        if (apps != null) {
            return;
        }
        apps = watched.informer(client.resources(ZeroDowntimeApp.class), Map.of());
        pods = managedPods.informer();
        slices = watched.informer(client.discovery().v1().endpointSlices(),
                Map.of(Constants.MANAGED_BY_LABEL, Constants.OPERATOR_NAME));
        // Keep retrying: the CRD may not exist yet at startup, and the API server may come and go.
        for (SharedIndexInformer<?> i : List.of(apps, slices)) {
            i.exceptionHandler((started, error) -> {
                LOG.debugf("drain gate informer: %s; retrying", error.getMessage());
                return true;
            });
        }
        slices.addIndexers(Map.of(APP_INDEX, s -> keys(s, SERVICE_NAME_LABEL)));
        apps.addEventHandler(reporter(changed, a -> key(a.getMetadata().getNamespace(), a.getMetadata().getName())));
        slices.addEventHandler(reporter(changed, s -> key(s.getMetadata().getNamespace(), label(s, SERVICE_NAME_LABEL))));
        apps.start();
        managedPods.watch(reporter(changed, p -> key(p.getMetadata().getNamespace(), label(p, Constants.APP_LABEL))));
        slices.start();
    }

    /** The informers have listed everything once; before that the gate cannot tell a stranger from a pod of ours. */
    boolean synced() {
        return apps != null && apps.hasSynced() && pods.hasSynced() && slices.hasSynced();
    }

    /** The app, or null when there is none (or none yet). */
    ZeroDowntimeApp app(String key) {
        return apps.getIndexer().getByKey(key);
    }

    /** The managed pod of that name, whatever its app, or null. */
    Pod pod(String namespace, String name) {
        return pods.getIndexer().getByKey(key(namespace, name));
    }

    /** The app's managed pods, terminating or not. */
    List<Pod> pods(String key) {
        return pods.getIndexer().byIndex(APP_INDEX, key);
    }

    /** What the app's EndpointSlices offer as ready. */
    Rotation rotation(String key) {
        return Rotation.of(slices.getIndexer().byIndex(APP_INDEX, key));
    }

    /** Stops this cache's own informers; the managed pods' informer is stopped by its own bean, warm-in shares it. */
    void stop() {
        for (SharedIndexInformer<?> i : new SharedIndexInformer<?>[] { apps, slices }) {
            if (i != null) {
                i.stop();
            }
        }
    }

    private static <T extends HasMetadata> ResourceEventHandler<T> reporter(Consumer<String> changed,
            Function<T, String> keyOf) {
        return new ResourceEventHandler<>() {
            @Override
            public void onAdd(T obj) {
                changed.accept(keyOf.apply(obj));
            }

            @Override
            public void onUpdate(T oldObj, T newObj) {
                changed.accept(keyOf.apply(newObj));
            }

            @Override
            public void onDelete(T obj, boolean deletedFinalStateUnknown) {
                changed.accept(keyOf.apply(obj));
            }
        };
    }

    /** The {@link #APP_INDEX} keys of an object: {@code namespace/<its label value>}, or none without the label. */
    static List<String> keys(HasMetadata o, String label) {
        String value = label(o, label);
        return value == null ? List.of() : List.of(key(o.getMetadata().getNamespace(), value));
    }

    static String label(HasMetadata o, String label) {
        Map<String, String> labels = o.getMetadata().getLabels();
        return labels == null ? null : labels.get(label);
    }

    /** {@code namespace/name}, or null without a name. */
    static String key(String namespace, String name) {
        return name == null ? null : namespace + "/" + name;
    }
}
