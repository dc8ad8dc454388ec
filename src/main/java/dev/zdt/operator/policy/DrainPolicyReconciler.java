package dev.zdt.operator.policy;

import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

import jakarta.enterprise.event.Observes;

import org.eclipse.microprofile.config.inject.ConfigProperty;

import dev.zdt.operator.Constants;
import dev.zdt.operator.api.v1alpha1.DrainPolicy;
import dev.zdt.operator.api.v1alpha1.DrainPolicyStatus;
import dev.zdt.operator.api.v1alpha1.PodOwnerStatus;
import dev.zdt.operator.budget.DrainBudget;
import dev.zdt.operator.kube.EventRecorder;
import dev.zdt.operator.status.StatusPath;
import dev.zdt.operator.status.Validated;
import dev.zdt.operator.watch.Policies;
import io.fabric8.kubernetes.api.model.Condition;
import io.fabric8.kubernetes.api.model.Namespace;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.fabric8.kubernetes.client.informers.ResourceEventHandler;
import io.javaoperatorsdk.operator.api.reconciler.Context;
import io.javaoperatorsdk.operator.api.reconciler.ControllerConfiguration;
import io.javaoperatorsdk.operator.api.reconciler.Reconciler;
import io.javaoperatorsdk.operator.api.reconciler.UpdateControl;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.quarkiverse.operatorsdk.annotations.RBACRule;
import io.quarkus.runtime.StartupEvent;

/**
 * Reports what a DrainPolicy covers: the derived budget, the pods its selector matches and those of
 * them without the drain (created before the policy, while the webhook was down, or in a namespace
 * not opted in), the workloads owning them with their minReadySeconds (see PodOwners), a Ready
 * condition, Events when that changes, and the gauge {@code zdt_policy_unprotected_pods}. The pods are listed from the API server on every pass, which
 * runs on every change of the policy and every zdt.policy.resync: a policy's selector is arbitrary,
 * so no label-filtered cache holds its unprotected pods.
 */
@ControllerConfiguration(name = DrainPolicyReconciler.NAME)
// The webhook's certificate: its Secret in the operator's namespace, the caBundle of its configuration.
@RBACRule(apiGroups = "", resources = "secrets", verbs = { "get", "create", "update", "patch" })
@RBACRule(apiGroups = "admissionregistration.k8s.io", resources = "mutatingwebhookconfigurations",
        verbs = { "get", "patch", "update" })
@RBACRule(apiGroups = "", resources = "namespaces", verbs = { "get" })
// The pods' owners, for their minReadySeconds (deployments are read already as the apps' children).
@RBACRule(apiGroups = "apps", resources = { "replicasets", "statefulsets", "daemonsets" }, verbs = { "get" })
public class DrainPolicyReconciler implements Reconciler<DrainPolicy> {

    public static final String NAME = "drainpolicy";

    private final EventRecorder events;
    /** The status path shared with the app's reconciler: unchanged statuses not written, writes remembered, refused Warnings owed. */
    private final StatusPath<DrainPolicy, DrainPolicyStatus> statusPath;
    private final MeterRegistry registry;
    private final Policies policies;
    private final Duration resync;
    private final Map<String, AtomicInteger> unprotected = new ConcurrentHashMap<>();

    public DrainPolicyReconciler(EventRecorder events, MeterRegistry registry, Policies policies,
            @ConfigProperty(name = "zdt.policy.resync", defaultValue = "30s") Duration resync) {
        this.events = events;
        this.statusPath = statusPath(events);
        this.registry = registry;
        this.policies = policies;
        this.resync = resync;
    }

    void onStart(@Observes StartupEvent event) {
        // A deleted policy's gauge goes with it.
        policies.watch(new ResourceEventHandler<>() {
            @Override
            public void onAdd(DrainPolicy p) {
            }

            @Override
            public void onUpdate(DrainPolicy before, DrainPolicy p) {
            }

            @Override
            public void onDelete(DrainPolicy p, boolean unknownFinalState) {
                String key = key(p);
                if (unprotected.remove(key) != null) {
                    registry.find("zdt.policy.unprotected.pods").tag("namespace", p.getMetadata().getNamespace())
                            .tag("policy", p.getMetadata().getName()).meters().forEach(registry::remove);
                }
            }
        });
    }

    @Override
    public UpdateControl<DrainPolicy> reconcile(DrainPolicy cached, Context<DrainPolicy> context) {
        // The status as this replica last wrote it, should the cache lag behind.
        DrainPolicy policy = statusPath.freshest(cached);
        String ns = policy.getMetadata().getNamespace();
        PolicyStatusAggregator aggregator = new PolicyStatusAggregator(policy, Instant.now());
        // The validation step: every spec check, before anything is read for the policy.
        Validated<DrainBudget> validated = PolicyValidation.check(policy);
        DrainPolicyStatus status;
        if (!validated.valid()) {
            status = aggregator.invalid(validated.message());
        } else {
            List<Pod> pods = context.getClient().pods().inNamespace(ns)
                    .withLabelSelector(policy.getSpec().getSelector()).list().getItems().stream()
                    .filter(p -> p.getMetadata().getDeletionTimestamp() == null && !zdtAppPod(p)).toList();
            List<PodOwnerStatus> owners = PodOwners.of(context.getClient(), ns, pods, validated.value().minReadySeconds());
            status = aggregator.from(validated.value(), pods, owners, optedIn(context, ns));
            gauge(policy).set(status.getUnprotectedPods());
        }
        Duration retry = announce(policy, StatusPath.find(status.getConditions(), PolicyStatusAggregator.READY));
        statusPath.write(policy, status, context);
        return UpdateControl.<DrainPolicy>noUpdate().rescheduleAfter(retry != null && retry.compareTo(resync) < 0 ? retry : resync);
    }

    /**
     * One Event per new reason of Ready, not one per pass: Normal when it is True, else a Warning,
     * which is owed and written again on a later pass if the API server refused it.
     *
     * @return when to try again while a Warning is owed, else null
     */
    Duration announce(DrainPolicy policy, Condition now) {
        Condition before = PolicyStatusAggregator.previous(policy);
        boolean ok = "True".equals(now.getStatus());
        Duration retry = statusPath.warn(policy, before, ok ? null : now, Condition::getReason);
        if (ok && (before == null || !Objects.equals(before.getReason(), now.getReason()))) {
            events.normal(policy, now.getReason(), now.getMessage());
        }
        return retry;
    }

    /** The policy's status path: every field is this reconciler's. */
    static StatusPath<DrainPolicy, DrainPolicyStatus> statusPath(EventRecorder events) {
        return new StatusPath<>(DrainPolicy::new, events, (cached, remembered) -> {
        });
    }

    /** Pods of a ZeroDowntimeApp are the app's: the webhook never touches them, so they are not counted. */
    private static boolean zdtAppPod(Pod p) {
        Map<String, String> labels = p.getMetadata().getLabels();
        return labels != null && Constants.OPERATOR_NAME.equals(labels.get(Constants.MANAGED_BY_LABEL));
    }

    /** Why the namespace's pods never reach the webhook, or null when they do (or the namespace cannot be read). */
    private static String optedIn(Context<DrainPolicy> context, String ns) {
        try {
            Namespace n = context.getClient().namespaces().withName(ns).get();
            if (n == null) {
                return null;
            }
            Map<String, String> labels = n.getMetadata().getLabels();
            if (labels != null && Constants.DRAIN_POLICY_ENABLED.equals(labels.get(Constants.DRAIN_POLICY_LABEL))) {
                return null;
            }
            return "namespace " + ns + " is not labelled " + Constants.DRAIN_POLICY_LABEL + "="
                    + Constants.DRAIN_POLICY_ENABLED + ", so the webhook never sees its pods; kubectl label namespace "
                    + ns + " " + Constants.DRAIN_POLICY_LABEL + "=" + Constants.DRAIN_POLICY_ENABLED;
        } catch (KubernetesClientException e) {
            return null; // a namespaced install cannot read namespaces: say nothing rather than guess
        }
    }

    private AtomicInteger gauge(DrainPolicy policy) {
        return unprotected.computeIfAbsent(key(policy), k -> {
            AtomicInteger value = new AtomicInteger();
            Gauge.builder("zdt.policy.unprotected.pods", value, AtomicInteger::get)
                    .description("Pods a DrainPolicy selects that were created without its drain")
                    .tag("namespace", policy.getMetadata().getNamespace()).tag("policy", policy.getMetadata().getName())
                    .register(registry);
            return value;
        });
    }

    private static String key(DrainPolicy p) {
        return p.getMetadata().getNamespace() + "/" + p.getMetadata().getName();
    }
}
