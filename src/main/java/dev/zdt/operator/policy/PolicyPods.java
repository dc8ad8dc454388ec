package dev.zdt.operator.policy;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;

import dev.zdt.operator.Constants;
import dev.zdt.operator.api.InvalidSpecException;
import dev.zdt.operator.api.v1alpha1.DrainPolicy;
import dev.zdt.operator.api.v1alpha1.DrainSpec;
import dev.zdt.operator.budget.DrainBudget;
import dev.zdt.operator.pod.DrainHelper;
import dev.zdt.operator.pod.PodIdentity;
import dev.zdt.operator.pod.DrainHelperConfig;
import dev.zdt.operator.pod.GateEndpoint;
import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.IntOrString;
import io.fabric8.kubernetes.api.model.LabelSelector;
import io.fabric8.kubernetes.api.model.LabelSelectorRequirement;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodBuilder;
import io.fabric8.kubernetes.api.model.PodReadinessGate;
import io.fabric8.kubernetes.api.model.Volume;
import io.fabric8.kubernetes.client.utils.Serialization;

/**
 * What a DrainPolicy does to a pod, as pure functions tested without a cluster: which policy takes
 * a pod, the pod with the drain added (the same parts a gate-mode ZeroDowntimeApp renders into its
 * Deployment), the JSON Patch the webhook answers with, and whether a pod in the cache has it.
 */
public final class PolicyPods {

    /** A pod's grace when its spec names none (the API server's default). */
    static final long DEFAULT_GRACE_SECONDS = 30;

    private static final ObjectMapper JSON = new ObjectMapper();

    private PolicyPods() {
    }

    /** The app name the gate knows the policy's pods by: the pods' zdt.dev/app label and the helper's --app. */

    /** The budget of a policy; throws {@link InvalidSpecException} with what to fix ({@link PolicyValidation}). */
    public static DrainBudget budget(DrainPolicy policy) {
        var validated = PolicyValidation.check(policy);
        if (!validated.valid()) {
            throw new InvalidSpecException(validated.message());
        }
        return validated.value();
    }

    /** A pod the webhook must leave alone whatever the policies say: a ZeroDowntimeApp's, or one protected already. */
    static boolean exempt(Pod pod) {
        Map<String, String> labels = pod.getMetadata().getLabels();
        return labels != null && (labels.containsKey(Constants.APP_LABEL)
                || Constants.OPERATOR_NAME.equals(labels.get(Constants.MANAGED_BY_LABEL)));
    }

    /** The policy that takes the pod: of the valid ones whose selector matches, the first by name. */
    static Optional<DrainPolicy> choose(Pod pod, List<DrainPolicy> inNamespace) {
        Map<String, String> labels = pod.getMetadata().getLabels() == null ? Map.of() : pod.getMetadata().getLabels();
        return inNamespace.stream()
                .filter(p -> p.getSpec() != null && p.getMetadata().getDeletionTimestamp() == null
                        && matches(p.getSpec().getSelector(), labels))
                .min(Comparator.comparing(p -> p.getMetadata().getName()));
    }

    /** Kubernetes label selector semantics; a null or empty selector matches nothing (a policy must say what it takes). */
    public static boolean matches(LabelSelector selector, Map<String, String> labels) {
        if (selector == null || ((selector.getMatchLabels() == null || selector.getMatchLabels().isEmpty())
                && (selector.getMatchExpressions() == null || selector.getMatchExpressions().isEmpty()))) {
            return false;
        }
        if (selector.getMatchLabels() != null) {
            for (Map.Entry<String, String> e : selector.getMatchLabels().entrySet()) {
                if (!Objects.equals(labels.get(e.getKey()), e.getValue())) {
                    return false;
                }
            }
        }
        if (selector.getMatchExpressions() != null) {
            for (LabelSelectorRequirement r : selector.getMatchExpressions()) {
                String value = labels.get(r.getKey());
                List<String> values = r.getValues() == null ? List.of() : r.getValues();
                boolean ok = switch (r.getOperator()) {
                    case "In" -> value != null && values.contains(value);
                    case "NotIn" -> value == null || !values.contains(value);
                    case "Exists" -> value != null;
                    case "DoesNotExist" -> value == null;
                    default -> false;
                };
                if (!ok) {
                    return false;
                }
            }
        }
        return true;
    }

    /** Whether a pod in the cache carries the policy's drain: its app label and the helper's hook. */
    public static boolean isProtected(Pod pod, String policy) {
        Map<String, String> labels = pod.getMetadata().getLabels();
        return labels != null && Constants.policyAppName(policy).equals(labels.get(Constants.APP_LABEL))
                && pod.getSpec().getInitContainers() != null && pod.getSpec().getInitContainers().stream()
                        .anyMatch(c -> DrainHelper.INIT_CONTAINER.equals(c.getName()));
    }

    /**
     * The pod with the policy's drain: the helper's init container and volume, the helper as the
     * serving container's preStop (its own kept, run after the hold), the derived grace (never
     * lowered), the in-rotation readiness gate, and the label and annotations the gate reads.
     *
     * <p>No credential is added: the helper sends the pod's own projected token ({@link PodIdentity}),
     * so the webhook's reply carries nothing secret.
     */
    public static Pod protect(Pod pod, DrainPolicy policy, DrainBudget budget, GateEndpoint gate,
            DrainHelperConfig helper, String namespace) {
        String name = policy.getMetadata().getName();
        String app = Constants.policyAppName(name);
        String wanted = policy.getSpec().getContainerName();
        List<Container> own = pod.getSpec().getContainers();
        String serving = wanted != null ? wanted : own.get(0).getName();
        if (own.stream().noneMatch(c -> c.getName().equals(serving))) {
            throw new InvalidSpecException("the pod has no container '" + serving + "' (DrainPolicy " + name
                    + " containerName)");
        }
        List<Volume> volumes = new ArrayList<>(pod.getSpec().getVolumes() == null ? List.of() : pod.getSpec().getVolumes());
        List<Container> inits = new ArrayList<>();
        if (volumes.stream().anyMatch(v -> DrainHelper.VOLUME.equals(v.getName())) || (pod.getSpec().getInitContainers() != null
                && pod.getSpec().getInitContainers().stream().anyMatch(c -> DrainHelper.INIT_CONTAINER.equals(c.getName())))) {
            throw new InvalidSpecException("the pod already has a volume '" + DrainHelper.VOLUME + "' or an init container '"
                    + DrainHelper.INIT_CONTAINER + "', names the drain helper needs");
        }
        long podGrace = pod.getSpec().getTerminationGracePeriodSeconds() == null ? DEFAULT_GRACE_SECONDS
                : pod.getSpec().getTerminationGracePeriodSeconds();
        long grace = Math.max(podGrace, budget.terminationGracePeriodSeconds());
        // The container's own preStop may run until the app's shutdown time is all that is left of the grace.
        int shutdown = policy.getSpec().getDrain() == null || policy.getSpec().getDrain().getShutdownSeconds() == null
                ? 5 : policy.getSpec().getDrain().getShutdownSeconds();
        int deadline = (int) grace - shutdown;

        List<Container> containers = new ArrayList<>();
        for (Container c : own) {
            containers.add(c.getName().equals(serving)
                    ? DrainHelper.serving(c, gate, namespace, app, budget.holdSeconds(), deadline,
                            policy.getSpec().getDrain() == null ? null : policy.getSpec().getDrain().getStreams(),
                            declaredPorts(c)) : c);
        }
        inits.add(DrainHelper.initContainer(helper.image(), helper.pullPolicy()));
        if (pod.getSpec().getInitContainers() != null) {
            inits.addAll(pod.getSpec().getInitContainers());
        }
        volumes.add(DrainHelper.volume());
        volumes = PodIdentity.withVolume(volumes);
        List<PodReadinessGate> conditions = new ArrayList<>(
                pod.getSpec().getReadinessGates() == null ? List.of() : pod.getSpec().getReadinessGates());
        if (conditions.stream().noneMatch(g -> Constants.IN_ROTATION_CONDITION.equals(g.getConditionType()))) {
            conditions.add(new PodReadinessGate(Constants.IN_ROTATION_CONDITION));
        }
        Map<String, String> labels = new LinkedHashMap<>(
                pod.getMetadata().getLabels() == null ? Map.of() : pod.getMetadata().getLabels());
        labels.put(Constants.APP_LABEL, app);
        Map<String, String> annotations = new LinkedHashMap<>(
                pod.getMetadata().getAnnotations() == null ? Map.of() : pod.getMetadata().getAnnotations());
        annotations.put(Constants.DRAIN_POLICY_LABEL, name);
        annotations.put(Constants.HOLD_ANNOTATION, Integer.toString(budget.holdSeconds()));
        annotations.put(Constants.BUDGET_HASH_ANNOTATION, budget.hash(DrainSpec.Mode.GATE));
        return new PodBuilder(pod)
                .editMetadata().withLabels(labels).withAnnotations(annotations).endMetadata()
                .editSpec()
                    .withContainers(containers)
                    .withInitContainers(inits)
                    .withServiceAccountName(PodIdentity.serviceAccount(pod.getSpec()))
                    .withVolumes(volumes)
                    .withReadinessGates(conditions)
                    .withTerminationGracePeriodSeconds(grace)
                .endSpec()
                .build();
    }

    /** A policy names no port: its stream phase watches every port the serving container declares. */
    private static List<IntOrString> declaredPorts(Container c) {
        return c.getPorts() == null ? List.of() : c.getPorts().stream().map(p -> new IntOrString(p.getContainerPort())).toList();
    }

    /**
     * The JSON Patch (RFC 6902) from {@code before} to {@code after}: one "add" per field the drain
     * sets, which replaces the member when it exists.
     */
    public static String patch(Pod before, Pod after) {
        JsonNode a;
        JsonNode b;
        try {
            a = JSON.readTree(Serialization.asJson(after));
            b = JSON.readTree(Serialization.asJson(before));
        } catch (java.io.IOException e) {
            throw new IllegalStateException("a pod that fabric8 wrote is JSON", e);
        }
        ArrayNode ops = JSON.createArrayNode();
        for (String path : List.of("/metadata/labels", "/metadata/annotations", "/spec/initContainers",
                "/spec/containers", "/spec/volumes", "/spec/readinessGates", "/spec/terminationGracePeriodSeconds",
                "/spec/serviceAccountName")) {
            JsonNode now = a.at(path);
            if (!now.isMissingNode() && !now.equals(b.at(path))) {
                ops.addObject().put("op", "add").put("path", path).set("value", now);
            }
        }
        return ops.toString();
    }
}
