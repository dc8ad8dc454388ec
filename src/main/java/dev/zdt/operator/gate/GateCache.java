package dev.zdt.operator.gate;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import java.util.function.Function;

import org.jboss.logging.Logger;

import dev.zdt.operator.Constants;
import dev.zdt.operator.api.v1alpha1.DrainPolicy;
import dev.zdt.operator.api.v1alpha1.TrafficSpec;
import dev.zdt.operator.api.v1alpha1.ZeroDowntimeApp;
import dev.zdt.operator.api.v1alpha1.ZeroDowntimeAppSpec;
import dev.zdt.operator.watch.Policies;
import dev.zdt.operator.watch.AppIndex;
import dev.zdt.operator.watch.ManagedPods;
import dev.zdt.operator.watch.Watched;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointSlice;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.informers.ResourceEventHandler;
import io.fabric8.kubernetes.client.informers.SharedIndexInformer;
import io.fabric8.kubernetes.client.utils.Serialization;

/**
 * What the drain gate reads of the cluster: the ZeroDowntimeApps, the pods the operator manages
 * (the cache shared with warm-in, {@link ManagedPods}) and their EndpointSlices, each indexed by
 * {@code namespace/app}; and the DrainPolicies, whose pods it knows by {@code namespace/policy.<name>}. Every replica keeps its own, not tied to leadership. Any change is
 * reported as the key of the app it concerns; what changed is read back from the cache.
 */
final class GateCache {

    /** Index of pods and EndpointSlices by {@code namespace/app}. */
    static final String APP_INDEX = AppIndex.NAME;
    private static final String SERVICE_NAME_LABEL = "kubernetes.io/service-name";
    private static final Logger LOG = Logger.getLogger(GateCache.class);

    private final KubernetesClient client;
    private final ManagedPods managedPods;
    private final Watched watched;
    private final Policies policies;

    private volatile SharedIndexInformer<ZeroDowntimeApp> apps;
    /** EndpointSlices of the Services DrainPolicies name: not the operator's, so not in {@link #slices}. */
    private volatile SharedIndexInformer<EndpointSlice> policySlices;
    private volatile SharedIndexInformer<Pod> pods;
    private volatile SharedIndexInformer<EndpointSlice> slices;

    GateCache(KubernetesClient client, ManagedPods managedPods, Watched watched, Policies policies) {
        this.client = client;
        this.managedPods = managedPods;
        this.watched = watched;
        this.policies = policies;
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
        policySlices = watched.informerWithout(client.discovery().v1().endpointSlices(),
                Constants.MANAGED_BY_LABEL, Constants.OPERATOR_NAME);
        for (SharedIndexInformer<?> i : List.of(apps, slices, policySlices)) {
            i.exceptionHandler((started, error) -> {
                LOG.debugf("drain gate informer: %s; retrying", error.getMessage());
                return true;
            });
        }
        slices.addIndexers(Map.of(APP_INDEX, s -> keys(s, SERVICE_NAME_LABEL)));
        apps.addEventHandler(reporter(changed, a -> key(a.getMetadata().getNamespace(), a.getMetadata().getName())));
        slices.addEventHandler(reporter(changed, s -> key(s.getMetadata().getNamespace(), label(s, SERVICE_NAME_LABEL))));
        policySlices.addIndexers(Map.of(APP_INDEX, s -> keys(s, SERVICE_NAME_LABEL)));
        // A policy's key changes with the policy and with the slices of every Service it names.
        policies.watch(reporter(changed, p -> key(p.getMetadata().getNamespace(), Constants.policyAppName(p.getMetadata().getName()))));
        policySlices.addEventHandler(new ResourceEventHandler<>() {
            @Override
            public void onAdd(EndpointSlice s) {
                pokePolicies(s, changed);
            }

            @Override
            public void onUpdate(EndpointSlice before, EndpointSlice s) {
                pokePolicies(s, changed);
            }

            @Override
            public void onDelete(EndpointSlice s, boolean unknownFinalState) {
                pokePolicies(s, changed);
            }
        });
        policySlices.start();
        apps.start();
        managedPods.watch(reporter(changed, p -> key(p.getMetadata().getNamespace(), label(p, Constants.APP_LABEL))));
        slices.start();
    }

    /** The informers have listed everything once; before that the gate cannot tell a stranger from a pod of ours. */
    boolean synced() {
        return apps != null && apps.hasSynced() && pods.hasSynced() && slices.hasSynced() && policySlices.hasSynced()
                && policies.synced();
    }

    /**
     * The app, or null when there is none (or none yet). For {@code policy.<name>}, the DrainPolicy
     * as an app: its traffic and drain, under the name its pods are labelled with.
     */
    ZeroDowntimeApp app(String key) {
        int slash = key.indexOf('/');
        String policy = Constants.policyOf(key.substring(slash + 1));
        if (policy == null) {
            return apps.getIndexer().getByKey(key);
        }
        DrainPolicy p = policies.get(key.substring(0, slash), policy);
        return p == null ? null : asApp(p);
    }

    /** What the holds read of an app (traffic, drain, strategy, name), taken from a policy. */
    static ZeroDowntimeApp asApp(DrainPolicy policy) {
        ZeroDowntimeApp app = new ZeroDowntimeApp();
        app.setMetadata(new ObjectMetaBuilder().withNamespace(policy.getMetadata().getNamespace())
                .withName(Constants.policyAppName(policy.getMetadata().getName())).withUid(policy.getMetadata().getUid())
                .build());
        ZeroDowntimeAppSpec spec = new ZeroDowntimeAppSpec();
        // A copy: the cached policy is shared. verify ingress needs nothing of the policy beyond this:
        // the ingress check finds the pods' addresses among every route of the controller, whatever
        // the route or Service is called.
        TrafficSpec traffic = Serialization.clone(policy.getSpec().getTraffic());
        spec.setTraffic(traffic);
        if (policy.getSpec().getDrain() != null) {
            spec.setDrain(policy.getSpec().getDrain());
        }
        app.setSpec(spec);
        return app;
    }

    private void pokePolicies(EndpointSlice slice, Consumer<String> changed) {
        String service = label(slice, SERVICE_NAME_LABEL);
        if (service == null) {
            return;
        }
        String ns = slice.getMetadata().getNamespace();
        for (DrainPolicy p : policies.inNamespace(ns)) {
            if (p.getSpec() != null && p.getSpec().getServices() != null && p.getSpec().getServices().contains(service)) {
                changed.accept(key(ns, Constants.policyAppName(p.getMetadata().getName())));
            }
        }
    }

    /** The managed pod of that name, whatever its app, or null. */
    Pod pod(String namespace, String name) {
        return pods.getIndexer().getByKey(key(namespace, name));
    }

    /** The app's managed pods, terminating or not. */
    List<Pod> pods(String key) {
        return pods.getIndexer().byIndex(APP_INDEX, key);
    }

    /** What the app's EndpointSlices offer as ready; a policy's: the slices of every Service it names. */
    Rotation rotation(String key) {
        int slash = key.indexOf('/');
        String ns = key.substring(0, slash);
        String policy = Constants.policyOf(key.substring(slash + 1));
        if (policy == null) {
            return Rotation.of(slices.getIndexer().byIndex(APP_INDEX, key));
        }
        DrainPolicy p = policies.get(ns, policy);
        List<EndpointSlice> all = new ArrayList<>();
        if (p != null && p.getSpec() != null && p.getSpec().getServices() != null) {
            p.getSpec().getServices().forEach(s -> all.addAll(policySlices.getIndexer().byIndex(APP_INDEX, key(ns, s))));
        }
        return Rotation.of(all);
    }

    /** Stops this cache's own informers; the managed pods' informer is stopped by its own bean, warm-in shares it. */
    void stop() {
        for (SharedIndexInformer<?> i : new SharedIndexInformer<?>[] { apps, slices, policySlices }) {
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

    /** The {@link #APP_INDEX} keys of an object ({@link AppIndex#keys}). */
    static List<String> keys(HasMetadata o, String label) {
        return AppIndex.keys(o, label);
    }

    static String label(HasMetadata o, String label) {
        return AppIndex.label(o, label);
    }

    /** {@code namespace/name}, or null without a name. */
    static String key(String namespace, String name) {
        return AppIndex.key(namespace, name);
    }
}
