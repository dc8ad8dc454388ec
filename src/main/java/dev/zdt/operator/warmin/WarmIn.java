package dev.zdt.operator.warmin;

import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import jakarta.annotation.PreDestroy;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;

import org.jboss.logging.Logger;

import dev.zdt.operator.Constants;
import dev.zdt.operator.Stopping;
import dev.zdt.operator.GateConfig;
import dev.zdt.operator.watch.ManagedPods;
import dev.zdt.operator.watch.SharedInformer;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodCondition;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointSlice;
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
 * admission keeps working while leadership moves. Each pod has one writer among the replicas that
 * serve the gate ({@link Admission#writes}); another replica steps in only when the owner has not
 * admitted the pod within {@link Admission#TAKEOVER}. Writes go out on {@link #WRITERS} threads, one
 * pod at most once at a time: with one thread a replica admitted about one pod a second under load
 * (issue 18), each write waiting for the API server's answer to the one before.
 * A failed write is retried after {@link #RETRY_SECONDS}; every pod is looked at again each minute
 * too. The pods come from the cache the drain gate uses ({@link ManagedPods}).
 */
@ApplicationScoped
public class WarmIn {

    static final long RETRY_SECONDS = 2;
    /** Concurrent condition writes per replica. */
    static final int WRITERS = 4;
    private static final String SERVICE_NAME_LABEL = "kubernetes.io/service-name";
    private static final long RESYNC_MILLIS = 60_000;
    private static final Logger LOG = Logger.getLogger(WarmIn.class);

    private final KubernetesClient client;
    private final ManagedPods managedPods;
    private final GateConfig gate;
    private final Counter admitted;
    private final String replica = System.getenv().getOrDefault("POD_NAME", Constants.OPERATOR_NAME);
    private final java.util.concurrent.atomic.AtomicInteger threads = new java.util.concurrent.atomic.AtomicInteger();
    private final ScheduledExecutorService writer = Executors.newScheduledThreadPool(WRITERS, r -> {
        Thread t = new Thread(r, "zdt-warm-in-" + threads.incrementAndGet());
        t.setDaemon(true);
        return t;
    });
    /** Pods ({@code namespace/name}) with a write queued or running: one at a time per pod. */
    private final java.util.Set<String> pending = java.util.concurrent.ConcurrentHashMap.newKeySet();
    private volatile SharedIndexInformer<Pod> pods;
    /** The gate Service's EndpointSlices: is this replica a ready endpoint, one the kubelet's hook can reach? */
    private volatile SharedIndexInformer<EndpointSlice> gateSlices;
    private volatile boolean waitingLogged;
    /** The "stopping, admits no more pods" line was logged. */
    private volatile boolean stopLogged;

    public WarmIn(KubernetesClient client, ManagedPods managedPods, GateConfig gate, MeterRegistry registry) {
        this.client = client;
        this.managedPods = managedPods;
        this.gate = gate;
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
        pods = managedPods.informer();
        ResourceEventHandler<Pod> onPod = SharedInformer.onChange(this::consider, false);
        if (gate.host().isEmpty()) {
            String namespace = gate.namespace().orElseGet(client::getNamespace);
            gateSlices = client.discovery().v1().endpointSlices().inNamespace(namespace)
                    .withLabel(SERVICE_NAME_LABEL, gate.serviceName()).runnableInformer(0);
            gateSlices.exceptionHandler((started, error) -> true);
            gateSlices.addEventHandler(new ResourceEventHandler<>() {
                @Override
                public void onAdd(EndpointSlice slice) {
                    reconsiderAll();
                }

                @Override
                public void onUpdate(EndpointSlice before, EndpointSlice slice) {
                    reconsiderAll();
                }

                @Override
                public void onDelete(EndpointSlice slice, boolean unknownFinalState) {
                }
            });
            gateSlices.start();
        }
        managedPods.watch(onPod);
        // Looks at every pod again now and then: a write that failed for good, or a pod whose
        // update this replica saw while it was not yet serving the gate.
        writer.scheduleWithFixedDelay(this::reconsiderAll, RESYNC_MILLIS, RESYNC_MILLIS, TimeUnit.MILLISECONDS);
    }

    /**
     * True from SIGTERM on, for the whole graceful wait for the calls this replica still holds: a
     * pod admitted then would later be drained by a gate that is gone.
     */
    private boolean stopping() {
        if (Stopping.now() && !stopLogged) {
            stopLogged = true;
            LOG.info("warm-in: this replica is stopping and admits no more pods");
        }
        return Stopping.now();
    }

    private void consider(Pod pod) {
        if (!stopping() && ours(pod) && Admission.decide(pod, replica, Instant.now()).isPresent()) {
            if (!gateServing()) {
                if (!waitingLogged) {
                    waitingLogged = true;
                    LOG.infof("warm-in waits: replica %s is not yet a ready endpoint of the gate Service %s, so it"
                            + " admits no pod (a drain must find a gate to call)", replica, gate.serviceName());
                }
                return;
            }
            String namespace = pod.getMetadata().getNamespace();
            String name = pod.getMetadata().getName();
            if (!pending.add(namespace + "/" + name)) {
                return;
            }
            if (Admission.writes(pod, replica, servingReplicas(), Instant.now())) {
                writer.execute(() -> admit(namespace, name));
            } else {
                // Another replica's pod: look again once it would be overdue, in case its owner did not write.
                writer.schedule(() -> admit(namespace, name), Admission.TAKEOVER.toMillis() + 1000, TimeUnit.MILLISECONDS);
            }
        }
    }

    private void reconsiderAll() {
        if (gateServing()) {
            waitingLogged = false;
            pods.getIndexer().list().forEach(this::consider);
        }
    }

    /**
     * This replica is a ready endpoint of the gate Service: the Service routes preStop calls to it.
     * Admitting a pod before that (a replica still starting) or after it (a replica stopping, out
     * of the Service) would let the pod become Ready while its later drain could find no gate.
     * With a fixed {@code zdt.gate.host} there is no Service to ask.
     */
    boolean gateServing() {
        if (gateSlices == null) {
            return gate.host().isPresent();
        }
        return servingReplicas().contains(replica);
    }

    /** The replicas that are ready endpoints of the gate Service; empty with a fixed gate host. */
    private List<String> servingReplicas() {
        SharedIndexInformer<EndpointSlice> slices = gateSlices;
        if (slices == null) {
            return List.of();
        }
        return slices.getIndexer().list().stream()
                .flatMap(s -> s.getEndpoints() == null ? Stream.empty() : s.getEndpoints().stream())
                .filter(e -> e.getTargetRef() != null && e.getTargetRef().getName() != null
                        && e.getConditions() != null && Boolean.TRUE.equals(e.getConditions().getReady()))
                .map(e -> e.getTargetRef().getName())
                .toList();
    }

    /** Decides again from the newest copy the informer holds, so a queued write never acts on stale state. */
    private void admit(String namespace, String name) {
        try {
            write(namespace, name);
        } finally {
            pending.remove(namespace + "/" + name);
        }
    }

    private void write(String namespace, String name) {
        Pod pod = pods.getIndexer().getByKey(namespace + "/" + name);
        if (stopping() || pod == null || !ours(pod) || !gateServing()) {
            return;
        }
        Instant now = Instant.now();
        Optional<PodCondition> condition = Admission.decide(pod, replica, now);
        if (condition.isEmpty() || !Admission.writes(pod, replica, servingReplicas(), now)) {
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
     * is not admitted. Or a pod the DrainPolicy webhook gave the drain (any owner: Deployment,
     * StatefulSet, rollout controller), known by its policy label and annotation.
     */
    static boolean ours(Pod pod) {
        Map<String, String> labels = pod.getMetadata().getLabels();
        String app = labels == null ? null : labels.get(Constants.APP_LABEL);
        if (app != null && Constants.policyOf(app) != null) {
            // A DrainPolicy's pod, whatever its owner: the webhook labelled it and named the policy.
            Map<String, String> annotations = pod.getMetadata().getAnnotations();
            return annotations != null && app.equals(Constants.policyAppName(annotations.getOrDefault(Constants.DRAIN_POLICY_LABEL, "")));
        }
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
        if (gateSlices != null) {
            gateSlices.stop();
        }
    }
}
