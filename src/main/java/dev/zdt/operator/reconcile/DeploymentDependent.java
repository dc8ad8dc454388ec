package dev.zdt.operator.reconcile;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import jakarta.inject.Inject;

import dev.zdt.operator.Constants;
import dev.zdt.operator.api.v1alpha1.DrainSpec;
import dev.zdt.operator.api.v1alpha1.StrategySpec;
import dev.zdt.operator.api.v1alpha1.ZeroDowntimeApp;
import dev.zdt.operator.api.v1alpha1.ZeroDowntimeAppSpec;
import dev.zdt.operator.budget.DrainBudget;
import dev.zdt.operator.api.InvalidSpecException;
import dev.zdt.operator.pod.DrainHelper;
import dev.zdt.operator.pod.DrainHelperConfig;
import dev.zdt.operator.pod.GateAddress;
import dev.zdt.operator.pod.GateEndpoint;
import dev.zdt.operator.pod.GateKeys;
import dev.zdt.operator.pod.GateToken;
import dev.zdt.operator.pod.PodIdentity;
import dev.zdt.operator.pod.PreStopHooks;
import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.ContainerBuilder;
import io.fabric8.kubernetes.api.model.PodReadinessGate;
import io.fabric8.kubernetes.api.model.PodTemplateSpec;
import io.fabric8.kubernetes.api.model.PodTemplateSpecBuilder;
import io.fabric8.kubernetes.api.model.Volume;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.api.model.apps.DeploymentBuilder;
import io.javaoperatorsdk.operator.api.config.informer.Informer;
import io.javaoperatorsdk.operator.api.reconciler.Context;
import io.javaoperatorsdk.operator.processing.dependent.kubernetes.KubernetesDependent;

/** The app's Deployment: the user's template plus the derived drain budget and preStop hook. */
@KubernetesDependent(informer = @Informer(labelSelector = Constants.SELECTOR_MANAGED))
public class DeploymentDependent extends OwnedDependent<Deployment> {

    @Inject
    GateAddress gateAddress;

    @Inject
    DrainHelperConfig drainHelper;

    @Inject
    GateKeys gateKeys;

    public DeploymentDependent() {
        super(Deployment.class);
    }

    @Override
    protected Deployment desired(ZeroDowntimeApp app, Context<ZeroDowntimeApp> context) {
        ZeroDowntimeAppSpec spec = app.getSpec();
        // With calibration on, the hold follows what the gate measured: a change rolls the pods through the hash.
        DrainBudget budget = DrainBudget.of(app);
        DrainSpec.Mode mode = spec.getDrain().getMode();
        // Only gate and exec hooks need the gate's address; sleep mode works without the operator.
        GateEndpoint gate = mode.asksTheGate() ? gateAddress.endpoint() : null;
        return render(app, budget, gate, token(app, context), drainHelper);
    }

    /** The gate token is made from the operator's keys, not the spec: a key that is no longer accepted renders again. */
    @Override
    protected Object inputs(ZeroDowntimeApp app, Context<ZeroDowntimeApp> context) {
        return token(app, context);
    }

    private String token(ZeroDowntimeApp app, Context<ZeroDowntimeApp> context) {
        // Only httpGet mode's hook carries an app token; gate and exec modes send the pod's own
        // projected token (PodIdentity), which no spec carries.
        if (app.getSpec().getDrain().getMode() != DrainSpec.Mode.HTTP_GET) {
            return null;
        }
        // The token the running pods carry stays while it is accepted: a key rotation rolls no app.
        String rendered = context.getSecondaryResource(Deployment.class).map(GateToken::renderedIn).orElse(null);
        return gateKeys.tokenFor(app, rendered);
    }

    /**
     * Pure rendering, tested without a cluster (DeploymentRenderTest).
     *
     * @param token the app's gate token, rendered into httpGet mode's hook; null in the other modes or without auth
     */
    public static Deployment render(ZeroDowntimeApp app, DrainBudget budget, GateEndpoint gate, String token,
            DrainHelperConfig helper) {
        ZeroDowntimeAppSpec spec = app.getSpec();
        String name = app.getMetadata().getName();
        String namespace = app.getMetadata().getNamespace();
        DrainSpec.Mode mode = spec.getDrain().getMode();
        ServingContainer serving = ServingContainer.of(spec);

        PodTemplateSpec template = new PodTemplateSpecBuilder(spec.getTemplate()).build();
        Map<String, String> podLabels = new LinkedHashMap<>();
        if (template.getMetadata() != null && template.getMetadata().getLabels() != null) {
            podLabels.putAll(template.getMetadata().getLabels());
        }
        podLabels.putAll(Labels.all(app));
        Map<String, String> podAnnotations = new LinkedHashMap<>();
        if (template.getMetadata() != null && template.getMetadata().getAnnotations() != null) {
            podAnnotations.putAll(template.getMetadata().getAnnotations());
        }
        podAnnotations.put(Constants.BUDGET_HASH_ANNOTATION, budget.hash(mode));
        podAnnotations.put(Constants.HOLD_ANNOTATION, Integer.toString(budget.holdSeconds()));

        List<Container> containers = new ArrayList<>();
        for (Container c : template.getSpec().getContainers()) {
            if (!c.getName().equals(serving.name())) {
                containers.add(c);
            } else if (mode == DrainSpec.Mode.GATE) {
                // The container's own preStop runs after the hold, leaving the app its shutdown time.
                int deadline = budget.terminationGracePeriodSeconds() - spec.getDrain().getShutdownSeconds();
                // The stream phase watches the port the Service targets unless drain.streams.ports names others.
                containers.add(DrainHelper.serving(c, gate, namespace, name, budget.holdSeconds(), deadline,
                        spec.getDrain().getStreams(), List.of(serving.targetPort())));
            } else {
                if (c.getLifecycle() != null && c.getLifecycle().getPreStop() != null) {
                    throw new InvalidSpecException("container '" + c.getName() + "' has its own preStop hook, which "
                            + "drain.mode " + mode.value()
                            + " would replace; use drain.mode gate (the default), which runs it after the hold, "
                            + "or remove it");
                }
                Container hooked = new ContainerBuilder(c).editOrNewLifecycle()
                        .withPreStop(PreStopHooks.forMode(mode, budget.holdSeconds(), gate, token, namespace, name))
                        .endLifecycle().build();
                containers.add(mode.provesItsPod() ? PodIdentity.mounted(hooked) : hooked);
            }
        }
        List<Container> initContainers = new ArrayList<>();
        List<Volume> volumes = new ArrayList<>();
        if (mode == DrainSpec.Mode.GATE) {
            initContainers.add(DrainHelper.initContainer(helper.image(), helper.pullPolicy()));
        }
        if (template.getSpec().getInitContainers() != null) {
            initContainers.addAll(template.getSpec().getInitContainers());
        }
        if (template.getSpec().getVolumes() != null) {
            volumes.addAll(template.getSpec().getVolumes());
        }
        if (mode == DrainSpec.Mode.GATE) {
            if (volumes.stream().anyMatch(v -> DrainHelper.VOLUME.equals(v.getName()))
                    || initContainers.stream().filter(i -> DrainHelper.INIT_CONTAINER.equals(i.getName())).count() > 1) {
                throw new InvalidSpecException("the template already has a volume '" + DrainHelper.VOLUME
                        + "' or an init container '" + DrainHelper.INIT_CONTAINER
                        + "', names that drain.mode gate needs for its helper");
            }
            volumes.add(DrainHelper.volume());
        }
        if (mode.provesItsPod()) {
            volumes = PodIdentity.withVolume(volumes);
        }

        containers.forEach(DeploymentDependent::withDefaultedFieldRefs);
        initContainers.forEach(DeploymentDependent::withDefaultedFieldRefs);

        StrategySpec strategy = spec.getStrategy();
        // The Deployment controller must not call a slow, gated rollout stalled.
        int progressDeadline = Math.max(600, budget.terminationGracePeriodSeconds() + budget.minReadySeconds() + 120);
        return new DeploymentBuilder()
                .withNewMetadata()
                    .withName(name)
                    .withNamespace(namespace)
                    .withLabels(Labels.all(app))
                .endMetadata()
                .withNewSpec()
                    .withReplicas(spec.getReplicas())
                    .withNewSelector().withMatchLabels(Labels.selector(app)).endSelector()
                    .withMinReadySeconds(budget.minReadySeconds() == 0 ? null : budget.minReadySeconds())
                    .withProgressDeadlineSeconds(progressDeadline)
                    .withNewStrategy()
                        .withType("RollingUpdate")
                        .withNewRollingUpdate()
                            .withMaxSurge(strategy.getMaxSurge())
                            .withMaxUnavailable(strategy.getMaxUnavailable())
                        .endRollingUpdate()
                    .endStrategy()
                    .withTemplate(new PodTemplateSpecBuilder(template)
                        .editOrNewMetadata()
                            .withLabels(podLabels)
                            .withAnnotations(podAnnotations)
                        .endMetadata()
                        .editSpec()
                            .withContainers(containers)
                            .withInitContainers(initContainers)
                            .withServiceAccountName(mode.provesItsPod()
                                    ? PodIdentity.serviceAccount(template.getSpec()) : template.getSpec().getServiceAccountName())
                            .withVolumes(volumes)
                            .withReadinessGates(readinessGates(template, mode))
                            .withTerminationGracePeriodSeconds((long) budget.terminationGracePeriodSeconds())
                        .endSpec()
                        .build())
                .endSpec()
                .build();
    }

    /**
     * Writes the Deployment as the API server stores it where the two differ only by a default:
     * JOSDK's server-side-apply matcher compares what the operator applied with what the server
     * kept, so a field it omits (a zero minReadySeconds, above) or fills in (a downward-API
     * fieldRef's apiVersion, here) reads as a change, and the unchanged Deployment would be applied
     * again on every reconcile (issue 18: the idle load at 100 apps).
     */
    private static void withDefaultedFieldRefs(Container container) {
        if (container.getEnv() == null) {
            return;
        }
        container.getEnv().stream()
                .filter(e -> e.getValueFrom() != null && e.getValueFrom().getFieldRef() != null
                        && e.getValueFrom().getFieldRef().getApiVersion() == null)
                .forEach(e -> e.getValueFrom().getFieldRef().setApiVersion("v1"));
    }

    /**
     * The user's readiness gates, plus warm-in's in the modes whose drain needs the operator's gate
     * (gate, exec): their pods become Ready only once a running operator replica admitted them.
     */
    static List<PodReadinessGate> readinessGates(PodTemplateSpec template, DrainSpec.Mode mode) {
        List<PodReadinessGate> conditions = new ArrayList<>();
        if (template.getSpec().getReadinessGates() != null) {
            template.getSpec().getReadinessGates().stream()
                    .filter(g -> !Constants.IN_ROTATION_CONDITION.equals(g.getConditionType()))
                    .forEach(conditions::add);
        }
        if (mode.asksTheGate()) {
            conditions.add(new PodReadinessGate(Constants.IN_ROTATION_CONDITION));
        }
        return conditions;
    }
}
