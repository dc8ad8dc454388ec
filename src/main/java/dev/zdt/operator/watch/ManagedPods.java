package dev.zdt.operator.watch;


import java.util.List;
import java.util.Map;

import jakarta.enterprise.context.ApplicationScoped;

import dev.zdt.operator.Constants;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.informers.SharedIndexInformer;

/**
 * The pods the operator drains (its zdt.dev/app label: ZeroDowntimeApps' pods, and DrainPolicies'
 * pods, labelled by the webhook), in the watched namespaces: one cache per
 * replica, shared by the drain gate, warm-in and the reconciler ({@code reconcile/AppPods}) rather
 * than one each. Not tied to leadership:
 * every replica serves the gate and admits pods. Indexed by {@link GateCache#APP_INDEX}
 * ({@code namespace/app}).
 */
@ApplicationScoped
public class ManagedPods extends SharedInformer<Pod> {

    private final KubernetesClient client;
    private final Watched watched;

    public ManagedPods(KubernetesClient client, Watched watched) {
        this.client = client;
        this.watched = watched;
    }

    @Override
    protected String what() {
        return "managed pods";
    }

    @Override
    protected SharedIndexInformer<Pod> create() {
        // Every pod with an app label: a ZeroDowntimeApp's, and a DrainPolicy's, whose managed-by is its owner's.
        SharedIndexInformer<Pod> pods = watched.informerWithLabel(client.pods(), Constants.APP_LABEL);
        pods.addIndexers(Map.of(AppIndex.NAME, p -> AppIndex.keys(p, Constants.APP_LABEL)));
        return pods;
    }

    /** The cached pods labelled with this app (a ZeroDowntimeApp's name, or a DrainPolicy's app name). */
    public List<Pod> ofApp(String namespace, String app) {
        return informer().getIndexer().byIndex(AppIndex.NAME, AppIndex.key(namespace, app));
    }
}
