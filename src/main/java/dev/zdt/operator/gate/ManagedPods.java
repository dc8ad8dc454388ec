package dev.zdt.operator.gate;

import java.util.List;
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
 * The pods the operator manages (its managed-by label), in every namespace: one watch and one cache
 * per replica, shared by the drain gate and warm-in rather than one each. Indexed by
 * {@code namespace/app}. Not tied to leadership: every replica serves the gate and admits pods.
 */
@ApplicationScoped
public class ManagedPods {

    /** Index of {@code namespace/app} (the app label). */
    public static final String BY_APP = "zdt-app";
    private static final Logger LOG = Logger.getLogger(ManagedPods.class);

    private final KubernetesClient client;
    private SharedIndexInformer<Pod> informer;
    private boolean started;

    public ManagedPods(KubernetesClient client) {
        this.client = client;
    }

    /** Adds a handler; it is also told of every pod already in the cache. Starts the watch on first use. */
    public synchronized SharedIndexInformer<Pod> watch(ResourceEventHandler<Pod> handler) {
        if (informer == null) {
            informer = client.pods().inAnyNamespace().withLabel(Constants.MANAGED_BY_LABEL, Constants.OPERATOR_NAME)
                    .runnableInformer(0);
            // Keep retrying: the API server may come and go.
            informer.exceptionHandler((isStarted, error) -> {
                LOG.debugf("managed pods informer: %s; retrying", error.getMessage());
                return true;
            });
            informer.addIndexers(Map.of(BY_APP, p -> {
                Map<String, String> labels = p.getMetadata().getLabels();
                String app = labels == null ? null : labels.get(Constants.APP_LABEL);
                return app == null ? List.of() : List.of(p.getMetadata().getNamespace() + "/" + app);
            }));
        }
        informer.addEventHandler(handler);
        if (!started) {
            started = true;
            informer.start();
        }
        return informer;
    }

    @PreDestroy
    synchronized void stop() {
        if (informer != null) {
            informer.stop();
        }
    }
}
