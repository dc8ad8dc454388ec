package dev.zdt.operator.reconcile;

import java.time.Duration;
import java.util.Set;
import java.util.stream.Collectors;

import org.jboss.logging.Logger;

import dev.zdt.operator.Constants;
import dev.zdt.operator.api.v1alpha1.ZeroDowntimeApp;
import dev.zdt.operator.watch.ManagedPods;
import dev.zdt.operator.watch.SharedInformer;
import io.fabric8.kubernetes.api.model.Pod;
import io.javaoperatorsdk.operator.processing.event.Event;
import io.javaoperatorsdk.operator.processing.event.ResourceID;
import io.javaoperatorsdk.operator.processing.event.source.AbstractEventSource;

/**
 * An app's pods for the reconciler, read from the pod cache every replica already keeps for the
 * drain gate and warm-in ({@link ManagedPods}) instead of a second informer of its own: at 10,000
 * pods a second copy of each was the larger part of the leader's heap. A pod event reconciles the
 * app its {@code zdt.dev/app} label names; only pods the operator manages count (its managed-by
 * label), not a DrainPolicy's pods, which carry the same app label.
 */
final class AppPods extends AbstractEventSource<Pod, ZeroDowntimeApp> {

    private static final Logger LOG = Logger.getLogger(AppPods.class);

    private final ManagedPods pods;
    /** How long the start waits for the pod cache's first list: JOSDK's cache-sync timeout, as its informers wait. */
    private final Duration syncWait;
    private boolean watching;

    AppPods(ManagedPods pods, Duration syncWait) {
        super(Pod.class, "pods");
        this.pods = pods;
        this.syncWait = syncWait;
    }

    @Override
    public synchronized void start() {
        if (!watching) {
            watching = true;
            // The handler stays on the shared cache; after a stop, isRunning() silences it.
            pods.watch(SharedInformer.onChange(this::changed, true));
        }
        try {
            // A reconcile before the first list would report an app without pods.
            if (!pods.awaitSynced(syncWait)) {
                LOG.warnf("the pod cache has not listed the pods within %s; apps are reconciled meanwhile and"
                        + " again as their pods arrive", syncWait);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        super.start();
    }

    private void changed(Pod pod) {
        String app = managedApp(pod);
        if (app != null && isRunning()) {
            getEventHandler().handleEvent(new Event(new ResourceID(app, pod.getMetadata().getNamespace())));
        }
    }

    @Override
    public Set<Pod> getSecondaryResources(ZeroDowntimeApp app) {
        String name = app.getMetadata().getName();
        return pods.ofApp(app.getMetadata().getNamespace(), name).stream()
                .filter(p -> name.equals(managedApp(p)))
                .collect(Collectors.toSet());
    }

    /** The app a pod belongs to, if the operator manages it; else null. */
    static String managedApp(Pod pod) {
        var labels = pod.getMetadata().getLabels();
        return labels == null || !Constants.OPERATOR_NAME.equals(labels.get(Constants.MANAGED_BY_LABEL)) ? null
                : labels.get(Constants.APP_LABEL);
    }
}
