package dev.zdt.operator.warmin;

import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

import jakarta.annotation.PreDestroy;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;

import org.jboss.logging.Logger;

import dev.zdt.operator.Constants;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodCondition;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.fabric8.kubernetes.client.dsl.base.PatchContext;
import io.fabric8.kubernetes.client.dsl.base.PatchType;
import io.fabric8.kubernetes.client.informers.ResourceEventHandler;
import io.fabric8.kubernetes.client.informers.SharedIndexInformer;
import io.fabric8.kubernetes.client.utils.Serialization;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.quarkus.runtime.StartupEvent;

/**
 * Sets the {@code zdt.dev/in-rotation} readiness gate on new pods of gate- and exec-mode apps
 * (see {@link Admission} for when, and why not later).
 *
 * <p>Every replica runs it from its own pod informer, not tied to leadership, like the drain gate:
 * admission keeps working while leadership moves. Two replicas admitting the same pod write the
 * same condition (a strategic merge on the status's conditions, keyed by type), which is harmless.
 * A failed write is retried after {@link #RETRY_SECONDS}; the informer's resync retries too.
 */
@ApplicationScoped
public class WarmIn {

    static final long RETRY_SECONDS = 2;
    private static final long RESYNC_MILLIS = 60_000;
    private static final Logger LOG = Logger.getLogger(WarmIn.class);

    private final KubernetesClient client;
    private final Counter admitted;
    private final String replica = System.getenv().getOrDefault("POD_NAME", Constants.OPERATOR_NAME);
    private final ScheduledExecutorService writer = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "zdt-warm-in");
        t.setDaemon(true);
        return t;
    });
    private volatile SharedIndexInformer<Pod> pods;

    public WarmIn(KubernetesClient client, MeterRegistry registry) {
        this.client = client;
        this.admitted = Counter.builder("zdt.pods.admitted")
                .description("New pods let into rotation through the zdt.dev/in-rotation readiness gate")
                .register(registry);
    }

    void onStart(@Observes StartupEvent event) {
        start();
    }

    synchronized void start() {
        if (pods != null) {
            return;
        }
        pods = client.pods().inAnyNamespace().withLabel(Constants.MANAGED_BY_LABEL, Constants.OPERATOR_NAME)
                .runnableInformer(RESYNC_MILLIS);
        pods.exceptionHandler((started, error) -> {
            LOG.debugf("warm-in informer: %s; retrying", error.getMessage());
            return true;
        });
        pods.addEventHandler(new ResourceEventHandler<>() {
            @Override
            public void onAdd(Pod pod) {
                consider(pod);
            }

            @Override
            public void onUpdate(Pod before, Pod pod) {
                consider(pod);
            }

            @Override
            public void onDelete(Pod pod, boolean unknownFinalState) {
            }
        });
        pods.start();
    }

    private void consider(Pod pod) {
        if (ours(pod) && Admission.decide(pod, replica, Instant.now()).isPresent()) {
            writer.execute(() -> admit(pod.getMetadata().getNamespace(), pod.getMetadata().getName()));
        }
    }

    /** Decides again from the newest copy the informer holds, so a queued write never acts on stale state. */
    private void admit(String namespace, String name) {
        Pod pod = pods.getIndexer().getByKey(namespace + "/" + name);
        if (pod == null || !ours(pod)) {
            return;
        }
        Optional<PodCondition> condition = Admission.decide(pod, replica, Instant.now());
        if (condition.isEmpty()) {
            return;
        }
        String patch = Serialization.asJson(Map.of("status", Map.of("conditions", List.of(condition.get()))));
        try {
            client.pods().inNamespace(namespace).withName(name).subresource("status")
                    .patch(PatchContext.of(PatchType.STRATEGIC_MERGE), patch);
            admitted.increment();
            LOG.debugf("admitted %s/%s into rotation", namespace, name);
        } catch (KubernetesClientException e) {
            if (e.getCode() == 404) {
                return; // gone meanwhile
            }
            LOG.warnf("could not admit %s/%s into rotation (HTTP %d: %s); retrying in %d s", namespace, name,
                    e.getCode(), e.getMessage(), RETRY_SECONDS);
            writer.schedule(() -> admit(namespace, name), RETRY_SECONDS, TimeUnit.SECONDS);
        }
    }

    /**
     * A pod the operator manages: labelled as ours, naming its app, and created by a ReplicaSet of
     * the app's Deployment (whose name the ReplicaSet's starts with). A pod merely labelled by hand
     * is not admitted.
     */
    static boolean ours(Pod pod) {
        Map<String, String> labels = pod.getMetadata().getLabels();
        String app = labels == null ? null : labels.get(Constants.APP_LABEL);
        if (app == null || !Constants.OPERATOR_NAME.equals(labels.get(Constants.MANAGED_BY_LABEL))) {
            return false;
        }
        return pod.getMetadata().getOwnerReferences() != null && pod.getMetadata().getOwnerReferences().stream()
                .filter(o -> Boolean.TRUE.equals(o.getController()))
                .anyMatch(o -> "ReplicaSet".equals(o.getKind()) && "apps/v1".equals(o.getApiVersion())
                        && o.getName().startsWith(app + "-"));
    }

    @PreDestroy
    void stop() {
        writer.shutdownNow();
        if (pods != null) {
            pods.stop();
        }
    }
}
