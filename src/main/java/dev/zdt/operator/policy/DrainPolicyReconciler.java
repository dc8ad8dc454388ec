package dev.zdt.operator.policy;

import dev.zdt.operator.watch.Policies;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Collectors;

import jakarta.enterprise.event.Observes;

import org.eclipse.microprofile.config.inject.ConfigProperty;

import dev.zdt.operator.Constants;
import dev.zdt.operator.api.InvalidSpecException;
import dev.zdt.operator.api.v1alpha1.DrainPolicy;
import dev.zdt.operator.api.v1alpha1.DrainPolicyStatus;
import dev.zdt.operator.api.v1alpha1.DrainSpec;
import dev.zdt.operator.api.v1alpha1.PodOwnerStatus;
import dev.zdt.operator.budget.DrainBudget;
import dev.zdt.operator.kube.EventRecorder;
import io.fabric8.kubernetes.api.model.Condition;
import io.fabric8.kubernetes.api.model.ConditionBuilder;
import io.fabric8.kubernetes.api.model.Namespace;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.fabric8.kubernetes.client.dsl.base.PatchContext;
import io.fabric8.kubernetes.client.dsl.base.PatchType;
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
    static final String READY = "Ready";
    /** At most this many unprotected pods are named in the status, and owners in the Ready message. */
    static final int EXAMPLES = 5;

    private final EventRecorder events;
    private final MeterRegistry registry;
    private final Policies policies;
    private final Duration resync;
    private final Map<String, AtomicInteger> unprotected = new ConcurrentHashMap<>();

    public DrainPolicyReconciler(EventRecorder events, MeterRegistry registry, Policies policies,
            @ConfigProperty(name = "zdt.policy.resync", defaultValue = "30s") Duration resync) {
        this.events = events;
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
    public UpdateControl<DrainPolicy> reconcile(DrainPolicy policy, Context<DrainPolicy> context) {
        String ns = policy.getMetadata().getNamespace();
        String name = policy.getMetadata().getName();
        Instant now = Instant.now();
        DrainPolicyStatus status = new DrainPolicyStatus();
        status.setObservedGeneration(policy.getMetadata().getGeneration());
        Condition ready;
        try {
            DrainBudget budget = PolicyPods.budget(policy);
            status.setDrainBudget(budget.toStatus(DrainSpec.Mode.GATE));
            List<Pod> pods = context.getClient().pods().inNamespace(ns)
                    .withLabelSelector(policy.getSpec().getSelector()).list().getItems().stream()
                    .filter(p -> p.getMetadata().getDeletionTimestamp() == null && !zdtAppPod(p)).toList();
            List<String> without = pods.stream().filter(p -> !PolicyPods.isProtected(p, name))
                    .map(p -> p.getMetadata().getName()).sorted().toList();
            status.setCoveredPods(pods.size());
            status.setUnprotectedPods(without.size());
            status.setUnprotectedExamples(without.isEmpty() ? null : without.subList(0, Math.min(EXAMPLES, without.size())));
            gauge(policy).set(without.size());
            List<PodOwnerStatus> owners = PodOwners.of(context.getClient(), ns, pods, budget.minReadySeconds());
            status.setOwnerCount(owners.size());
            status.setOwners(owners.isEmpty() ? null : owners.subList(0, Math.min(PodOwners.LISTED, owners.size())));
            // Named in the message: the first few (status.owners lists more).
            List<PodOwnerStatus> tooLow = owners.stream().filter(o -> Boolean.FALSE.equals(o.getSufficient()))
                    .limit(EXAMPLES).toList();
            String optIn = optedIn(context, ns);
            if (optIn != null) {
                ready = condition(policy, "False", "NamespaceNotEnabled", optIn, now);
            } else if (!without.isEmpty()) {
                ready = condition(policy, "False", "UnprotectedPods", without.size() + " of " + pods.size()
                        + " matched pods were created without the drain (before the policy, or while the webhook was"
                        + " down): " + String.join(", ", status.getUnprotectedExamples())
                        + (without.size() > EXAMPLES ? ", ..." : "") + "; kubectl rollout restart their owner to protect them", now);
            } else if (!tooLow.isEmpty()) {
                ready = condition(policy, "False", "OwnerMinReadySecondsTooLow", "the front end needs a new pod ready for "
                        + budget.minReadySeconds() + "s before the rollout goes on (a pod cannot carry minReadySeconds), but "
                        + tooLow.stream().map(o -> o.getKind() + " " + o.getName() + " has minReadySeconds "
                                + o.getMinReadySeconds()).collect(Collectors.joining(", "))
                        + "; " + tooLow.stream().map(o -> PodOwners.patch(ns, o)).collect(Collectors.joining("; ")), now);
            } else {
                ready = condition(policy, "True", "AllPodsProtected", pods.size() + " matched pods, all protected; "
                        + budget.derivation() + (budget.minReadySeconds() > 0 ? "; the owners need minReadySeconds >= "
                        + budget.minReadySeconds() + " (a pod cannot carry it)" + unknownOwners(owners) : ""), now);
            }
        } catch (InvalidSpecException e) {
            ready = condition(policy, "False", "InvalidSpec", e.getMessage(), now);
        }
        status.getConditions().add(ready);
        recordChange(policy, ready);
        write(policy, status, context);
        return UpdateControl.<DrainPolicy>noUpdate().rescheduleAfter(resync);
    }

    /** The owners whose minReadySeconds could not be checked, for the Ready message. */
    private static String unknownOwners(List<PodOwnerStatus> owners) {
        List<String> unknown = owners.stream().filter(o -> o.getSufficient() == null).limit(EXAMPLES)
                .map(o -> o.getKind() + " " + o.getName()).toList();
        return unknown.isEmpty() ? "; every owner has it"
                : "; not checked for " + String.join(", ", unknown) + " (see status.owners[].note)";
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

    /** Ready with the transition time kept while its status does not change. */
    private static Condition condition(DrainPolicy policy, String status, String reason, String message, Instant now) {
        Condition before = previous(policy);
        String since = before != null && status.equals(before.getStatus()) && before.getLastTransitionTime() != null
                ? before.getLastTransitionTime() : now.truncatedTo(ChronoUnit.SECONDS).toString();
        return new ConditionBuilder().withType(READY).withStatus(status).withReason(reason).withMessage(message)
                .withLastTransitionTime(since).withObservedGeneration(policy.getMetadata().getGeneration()).build();
    }

    private static Condition previous(DrainPolicy policy) {
        return policy.getStatus() == null || policy.getStatus().getConditions() == null ? null
                : policy.getStatus().getConditions().stream().filter(c -> READY.equals(c.getType())).findFirst().orElse(null);
    }

    /** One Event per new reason, not one per pass. */
    private void recordChange(DrainPolicy policy, Condition now) {
        Condition before = previous(policy);
        if (before != null && Objects.equals(before.getReason(), now.getReason())) {
            return;
        }
        if ("True".equals(now.getStatus())) {
            events.normal(policy, now.getReason(), now.getMessage());
        } else {
            events.warning(policy, now.getReason(), now.getMessage());
        }
    }

    /** Server-side apply of the status, as the app's reconciler writes its own (see ZeroDowntimeAppReconciler). */
    private static void write(DrainPolicy policy, DrainPolicyStatus status, Context<DrainPolicy> context) {
        DrainPolicy fresh = new DrainPolicy();
        fresh.setMetadata(new ObjectMetaBuilder().withName(policy.getMetadata().getName())
                .withNamespace(policy.getMetadata().getNamespace()).build());
        fresh.setStatus(status);
        try {
            context.getClient().resource(fresh).subresource("status")
                    .patch(new PatchContext.Builder().withPatchType(PatchType.SERVER_SIDE_APPLY)
                            .withFieldManager(context.getControllerConfiguration().fieldManager())
                            .withForce(true).build());
        } catch (KubernetesClientException e) {
            if (e.getCode() != 404) {
                throw e;
            }
        }
    }
}
