package dev.zdt.operator.reconcile;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Objects;

import jakarta.inject.Inject;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import dev.zdt.operator.Constants;
import dev.zdt.operator.api.v1alpha1.ZeroDowntimeApp;
import dev.zdt.operator.status.StatusPath;
import dev.zdt.operator.testing.Apps;
import dev.zdt.operator.testing.KubeApiServerResource;
import dev.zdt.operator.testing.RefusalPolicy;
import io.fabric8.kubernetes.api.model.Condition;
import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.NamespaceBuilder;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.ServiceBuilder;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.api.model.apps.DeploymentStatusBuilder;
import io.fabric8.kubernetes.api.model.events.v1.Event;
import io.fabric8.kubernetes.api.model.networking.v1.Ingress;
import io.fabric8.kubernetes.api.model.policy.v1.PodDisruptionBudget;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.junit.QuarkusTest;

/** The reconciler against a real kube-apiserver + etcd (no controller-manager, no kubelet). */
@QuarkusTest
@QuarkusTestResource(value = KubeApiServerResource.class, restrictToAnnotatedClass = false)
class ZeroDowntimeAppReconcilerTest {

    private static final Duration WAIT = Duration.ofSeconds(30);

    @Inject
    KubernetesClient client;

    private String ns;

    @BeforeEach
    void namespaceAndGateService() {
        ns = "t-" + Long.toString(System.nanoTime(), 36);
        client.resource(new NamespaceBuilder().withNewMetadata().withName(ns).endMetadata().build()).create();
        Apps.ensureGateService(client);
    }

    @AfterEach
    void cleanUp() {
        client.namespaces().withName(ns).delete();
    }

    private ZeroDowntimeApp apply(String yaml) {
        ZeroDowntimeApp app = Apps.parse(yaml);
        app.getMetadata().setNamespace(ns);
        return client.resource(app).serverSideApply();
    }

    private Deployment awaitDeployment(String name, java.util.function.Predicate<Deployment> condition) {
        return await().atMost(WAIT).until(() -> client.apps().deployments().inNamespace(ns).withName(name).get(),
                d -> d != null && condition.test(d));
    }

    private ZeroDowntimeApp awaitApp(String name, java.util.function.Predicate<ZeroDowntimeApp> condition) {
        return await().atMost(WAIT).until(() -> client.resources(ZeroDowntimeApp.class).inNamespace(ns).withName(name).get(),
                a -> a != null && a.getStatus() != null && condition.test(a));
    }

    private ZeroDowntimeApp awaitInvalidSpec(String name) {
        return awaitApp(name, a -> condition(a, "Ready") != null && "InvalidSpec".equals(condition(a, "Ready").getReason()));
    }

    private static Condition condition(ZeroDowntimeApp app, String type) {
        return app.getStatus().getConditions().stream().filter(c -> type.equals(c.getType())).findFirst().orElse(null);
    }

    private static Container serving(Deployment d) {
        return d.getSpec().getTemplate().getSpec().getContainers().get(0);
    }

    @Test
    void createsChildrenWithTheDerivedDrainBudget() {
        apply(Apps.yaml("shop", """
                ingress:
                  className: traefik
                  host: shop.example.com
                """));

        Deployment d = awaitDeployment("shop", x -> true);
        String gateIp = client.services().inNamespace("default").withName("zdt-operator-gate").get().getSpec().getClusterIP();
        assertThat(d.getSpec().getTemplate().getSpec().getTerminationGracePeriodSeconds()).isEqualTo(52L);
        // traefik needs no warm-in (see ProviderProfile.warmIn); the API server omits a zero minReadySeconds
        assertThat(java.util.Objects.requireNonNullElse(d.getSpec().getMinReadySeconds(), 0)).isZero();
        assertThat(d.getSpec().getStrategy().getRollingUpdate().getMaxUnavailable().getIntVal()).isZero();
        assertThat(d.getSpec().getStrategy().getRollingUpdate().getMaxSurge().getIntVal()).isEqualTo(1);
        // Gate mode: the helper, copied in by an init container, asks the gate Service for its exact pod.
        assertThat(serving(d).getLifecycle().getPreStop().getExec().getCommand())
                .startsWith("/.zdt/zdt-drain", "prestop", "--gate", "http://" + gateIp + ":80", "--namespace", ns,
                        "--app", "shop");
        assertThat(d.getSpec().getTemplate().getSpec().getInitContainers()).extracting(Container::getName)
                .containsExactly("zdt-drain-install");
        assertThat(d.getSpec().getTemplate().getMetadata().getAnnotations()).containsKey(Constants.BUDGET_HASH_ANNOTATION);
        assertThat(d.getSpec().getSelector().getMatchLabels()).containsEntry(Constants.APP_LABEL, "shop");
        assertThat(d.getMetadata().getOwnerReferences()).singleElement()
                .satisfies(o -> assertThat(o.getKind()).isEqualTo("ZeroDowntimeApp"));

        Service s = await().atMost(WAIT).until(() -> client.services().inNamespace(ns).withName("shop").get(), Objects::nonNull);
        assertThat(s.getSpec().getSelector()).isEqualTo(Map.of(Constants.APP_LABEL, "shop"));
        assertThat(s.getSpec().getPorts().get(0).getTargetPort().getIntVal()).isEqualTo(8080);
        Ingress i = await().atMost(WAIT).until(() -> client.network().v1().ingresses().inNamespace(ns).withName("shop").get(),
                Objects::nonNull);
        assertThat(i.getSpec().getIngressClassName()).isEqualTo("traefik");
        assertThat(i.getSpec().getRules().get(0).getHost()).isEqualTo("shop.example.com");
        PodDisruptionBudget pdb = await().atMost(WAIT).until(
                () -> client.policy().v1().podDisruptionBudget().inNamespace(ns).withName("shop").get(), Objects::nonNull);
        assertThat(pdb.getSpec().getMaxUnavailable().getIntVal()).isEqualTo(1);

        ZeroDowntimeApp app = awaitApp("shop", a -> a.getStatus().getDrainBudget() != null);
        assertThat(app.getStatus().getObservedGeneration()).isEqualTo(1L);
        assertThat(app.getStatus().getDrainBudget().getTerminationGracePeriodSeconds()).isEqualTo(52);
        assertThat(app.getStatus().getDrainBudget().getDerivation())
                .startsWith("grace 52s = propagation 12s (traefik throttle 10s + watch 2s) + margin 5s");
        assertThat(condition(app, "Ready").getStatus()).isEqualTo("False");
        assertThat(condition(app, "Progressing").getStatus()).isEqualTo("True");
        assertThat(condition(app, "Degraded").getReason()).isEqualTo("AsExpected");
    }

    @Test
    void aTimingChangeUpdatesTheDeploymentAndRollsThePods() {
        apply(Apps.yaml("rolling", ""));
        Deployment before = awaitDeployment("rolling", x -> true);
        String hashBefore = before.getSpec().getTemplate().getMetadata().getAnnotations().get(Constants.BUDGET_HASH_ANNOTATION);

        apply(Apps.yaml("rolling", "").replace("throttleSeconds: 10", "throttleSeconds: 20"));

        Deployment after = awaitDeployment("rolling",
                x -> x.getSpec().getTemplate().getSpec().getTerminationGracePeriodSeconds() == 62L);
        assertThat(after.getSpec().getTemplate().getMetadata().getAnnotations().get(Constants.BUDGET_HASH_ANNOTATION))
                .isNotEqualTo(hashBefore);
        assertThat(java.util.Objects.requireNonNullElse(after.getSpec().getMinReadySeconds(), 0)).isZero();
        ZeroDowntimeApp app = awaitApp("rolling", a -> Long.valueOf(2).equals(a.getStatus().getObservedGeneration()));
        assertThat(condition(app, "Ready").getObservedGeneration()).isEqualTo(2L);
    }

    @Test
    void everyOneOfManyQuickSpecChangesReachesTheDeployment() {
        apply(Apps.yaml("busy", ""));
        awaitDeployment("busy", x -> true);
        // Each edit lands while the reconcile of the one before is still writing its status: none
        // may be taken for the operator's own write and dropped (the periodic pass is 2 minutes away).
        for (int replicas = 3; replicas <= 12; replicas++) {
            apply(Apps.yaml("busy", "").replace("replicas: 2", "replicas: " + replicas));
            int want = replicas;
            awaitDeployment("busy", x -> x.getSpec().getReplicas() == want);
        }
    }

    @Test
    void aDeletedChildIsRecreated() {
        apply(Apps.yaml("phoenix", ""));
        Service first = await().atMost(WAIT).until(() -> client.services().inNamespace(ns).withName("phoenix").get(),
                Objects::nonNull);

        client.resource(first).withTimeout(10, java.util.concurrent.TimeUnit.SECONDS).delete();

        Service second = await().atMost(WAIT).until(() -> client.services().inNamespace(ns).withName("phoenix").get(),
                s -> s != null && !s.getMetadata().getUid().equals(first.getMetadata().getUid()));
        assertThat(second.getSpec().getSelector()).containsEntry(Constants.APP_LABEL, "phoenix");
    }

    @Test
    void driftOnTheDeploymentIsReverted() {
        apply(Apps.yaml("steady", ""));
        awaitDeployment("steady", x -> true);

        client.apps().deployments().inNamespace(ns).withName("steady")
                .edit(d -> {
                    d.getSpec().getTemplate().getSpec().setTerminationGracePeriodSeconds(5L);
                    return d;
                });

        awaitDeployment("steady", x -> x.getSpec().getTemplate().getSpec().getTerminationGracePeriodSeconds() == 52L);
    }

    @Test
    void removingTheIngressFieldRemovesTheIngress() {
        apply(Apps.yaml("web", """
                ingress:
                  host: web.example.com
                """));
        await().atMost(WAIT).until(() -> client.network().v1().ingresses().inNamespace(ns).withName("web").get(),
                Objects::nonNull);

        apply(Apps.yaml("web", ""));

        // (awaitility never passes a null value to a predicate, so test for absence directly)
        await().atMost(WAIT).until(() -> client.network().v1().ingresses().inNamespace(ns).withName("web").get() == null);
    }

    @Test
    void everyChildIsOwnedByTheAppSoDeletingItCollectsThem() {
        ZeroDowntimeApp app = apply(Apps.yaml("owned", "ingress:\n  host: owned.example.com\n"));
        String uid = app.getMetadata().getUid();
        awaitDeployment("owned", x -> true);
        await().atMost(WAIT).until(() -> client.network().v1().ingresses().inNamespace(ns).withName("owned").get(),
                Objects::nonNull);
        await().atMost(WAIT).until(() -> client.policy().v1().podDisruptionBudget().inNamespace(ns).withName("owned").get(),
                Objects::nonNull);

        // The garbage collector (kube-controller-manager, on the full cluster) deletes what these point to.
        List<io.fabric8.kubernetes.api.model.HasMetadata> children = List.of(
                client.apps().deployments().inNamespace(ns).withName("owned").get(),
                client.services().inNamespace(ns).withName("owned").get(),
                client.network().v1().ingresses().inNamespace(ns).withName("owned").get(),
                client.policy().v1().podDisruptionBudget().inNamespace(ns).withName("owned").get());
        for (var child : children) {
            assertThat(child.getMetadata().getOwnerReferences()).as(child.getKind())
                    .anySatisfy(o -> {
                        assertThat(o.getUid()).isEqualTo(uid);
                        assertThat(o.getController()).isTrue();
                    });
        }
    }

    @Test
    void conditionsFollowTheDeploymentAndKeepTheirTransitionTime() {
        apply(Apps.yaml("status", ""));
        Deployment d = awaitDeployment("status", x -> true);
        awaitApp("status", a -> condition(a, "Ready") != null);

        // Stand in for the Deployment controller, which this API-only cluster does not run.
        d.setStatus(new DeploymentStatusBuilder().withObservedGeneration(d.getMetadata().getGeneration())
                .withReplicas(2).withReadyReplicas(2).withUpdatedReplicas(2).withAvailableReplicas(2).build());
        client.resource(d).updateStatus();

        ZeroDowntimeApp ready = awaitApp("status", a -> "True".equals(condition(a, "Ready").getStatus()));
        assertThat(condition(ready, "Ready").getReason()).isEqualTo("Available");
        assertThat(condition(ready, "Ready").getMessage()).contains("2 of 2 pods available");
        assertThat(condition(ready, "Progressing").getStatus()).isEqualTo("False");
        assertThat(condition(ready, "Progressing").getReason()).isEqualTo("RolloutComplete");
        assertThat(ready.getStatus().getReadyReplicas()).isEqualTo(2);
        String readySince = condition(ready, "Ready").getLastTransitionTime();

        // Condition times have whole seconds: let the clock pass the next second, or a time that
        // moved and one that stayed would read the same.
        java.time.Instant since = java.time.Instant.parse(readySince);
        await().atMost(Duration.ofSeconds(3)).until(() -> java.time.Instant.now().isAfter(since.plusSeconds(1)));

        // Scaling up: Ready turns False (its time moves), Degraded stays False (its time stays).
        apply(Apps.yaml("status", "").replace("replicas: 2", "replicas: 3"));
        ZeroDowntimeApp scaled = awaitApp("status", a -> Long.valueOf(2).equals(a.getStatus().getObservedGeneration()));
        assertThat(condition(scaled, "Ready").getStatus()).isEqualTo("False");
        assertThat(condition(scaled, "Ready").getReason()).isEqualTo("InsufficientReplicas");
        assertThat(java.time.Instant.parse(condition(scaled, "Ready").getLastTransitionTime()))
                .as("Ready changed status, so its transition time moved").isAfter(since);
        assertThat(condition(scaled, "Degraded").getLastTransitionTime())
                .as("Degraded kept its status, so its transition time stayed")
                .isEqualTo(condition(ready, "Degraded").getLastTransitionTime());
    }

    @Test
    void anInvalidHoldIsReportedAndTheDeploymentIsLeftAlone() {
        apply(Apps.yaml("careful", ""));
        Deployment good = awaitDeployment("careful", x -> true);

        apply(Apps.yaml("careful", """
                drain:
                  holdSeconds: 3
                """));

        ZeroDowntimeApp app = awaitApp("careful", a -> "InvalidSpec".equals(condition(a, "Ready").getReason()));
        assertThat(condition(app, "Ready").getMessage()).contains("holdSeconds 3 is below the propagation time 12s");
        assertThat(condition(app, "Degraded").getStatus()).isEqualTo("True");
        assertThat(condition(app, "Progressing").getMessage()).isEqualTo("no rollout while the spec is invalid; "
                + "the existing pods keep running");
        assertThat(app.getStatus().getDrainBudget().getTerminationGracePeriodSeconds()).isEqualTo(52);
        assertThat(client.apps().deployments().inNamespace(ns).withName("careful").get().getSpec().getTemplate().getSpec()
                .getTerminationGracePeriodSeconds()).isEqualTo(good.getSpec().getTemplate().getSpec()
                        .getTerminationGracePeriodSeconds());
        List<Event> events = await().atMost(WAIT).until(
                () -> client.resources(Event.class).inNamespace(ns).list().getItems(), l -> !l.isEmpty());
        assertThat(events).anySatisfy(e -> {
            assertThat(e.getReason()).isEqualTo("InvalidSpec");
            assertThat(e.getType()).isEqualTo("Warning");
            assertThat(e.getNote()).contains("holdSeconds 3");
        });
    }

    @Test
    void aStreamPhaseLengthensTheGraceIsHandedToTheHelperAndANewWindDownRollsThePods() {
        String streams = """
                drain:
                  streams:
                    windDownSeconds: 20
                    signal: {path: /drain-streams, port: http}
                """;
        apply(Apps.yaml("streams", streams));

        // 52 s (hold 17 + request 30 + shutdown 5) + 20 s wind-down; the helper may run until grace - shutdown.
        Deployment before = awaitDeployment("streams",
                x -> x.getSpec().getTemplate().getSpec().getTerminationGracePeriodSeconds() == 72L);
        List<String> command = serving(before).getLifecycle().getPreStop().getExec().getCommand();
        assertThat(command).containsSequence("--deadline", "67");
        assertThat(command.subList(command.indexOf("--streams-wait"), command.size())).containsExactly("--streams-wait", "20",
                "--streams-signal", "{\"httpGet\":{\"path\":\"/drain-streams\",\"port\":8080}}", "--streams-ports", "8080");
        ZeroDowntimeApp app = awaitApp("streams", a -> a.getStatus().getDrainBudget() != null);
        assertThat(app.getStatus().getDrainBudget().getTerminationGracePeriodSeconds()).isEqualTo(72);
        assertThat(app.getStatus().getDrainBudget().getDerivation()).startsWith("grace 72s = propagation 12s "
                + "(traefik throttle 10s + watch 2s) + margin 5s + stream wind-down 20s (drain.streams.windDownSeconds: "
                + "signal GET /drain-streams on port http, then until no connection is left on the serving port) + request 30s");
        String hashBefore = before.getSpec().getTemplate().getMetadata().getAnnotations().get(Constants.BUDGET_HASH_ANNOTATION);

        apply(Apps.yaml("streams", streams.replace("windDownSeconds: 20", "windDownSeconds: 40")));
        Deployment after = awaitDeployment("streams",
                x -> x.getSpec().getTemplate().getSpec().getTerminationGracePeriodSeconds() == 92L);
        assertThat(after.getSpec().getTemplate().getMetadata().getAnnotations().get(Constants.BUDGET_HASH_ANNOTATION))
                .isNotEqualTo(hashBefore);
        assertThat(serving(after).getLifecycle().getPreStop().getExec().getCommand()).containsSequence("--streams-wait", "40");
    }

    @Test
    void aStreamPortTheContainerDoesNotDeclareIsReportedAndTheDeploymentKeepsItsDrain() {
        apply(Apps.yaml("streamports", "drain:\n  streams:\n    windDownSeconds: 20\n    ports: [8080, 8081]\n"));

        ZeroDowntimeApp app = awaitInvalidSpec("streamports");
        assertThat(condition(app, "Ready").getMessage())
                .contains("drain.streams.ports 8081 is not a port of container 'web'; declared ports: http=8080");
        assertThat(client.apps().deployments().inNamespace(ns).withName("streamports").get())
                .as("no Deployment with a stream phase that watches the wrong port").isNull();
    }

    @Test
    void anUnknownNamedPortIsReportedWithTheDeclaredPorts() {
        apply(Apps.yaml("ports", "port: web"));

        ZeroDowntimeApp app = awaitInvalidSpec("ports");
        assertThat(condition(app, "Ready").getMessage())
                .contains("port 'web' is not a named port of container 'web'; declared ports: http=8080");
    }

    private List<Event> events(String reason) {
        return client.resources(Event.class).inNamespace(ns).list().getItems().stream()
                .filter(e -> reason.equals(e.getReason())).toList();
    }

    @Test
    void aServiceTheAppDoesNotOwnIsLeftUnchangedAndReportedAsAConflict() {
        Service foreign = client.resource(new ServiceBuilder().withNewMetadata().withName("taken").withNamespace(ns)
                .withLabels(Map.of("team", "payments")).endMetadata()
                .withNewSpec().withSelector(Map.of("team", "payments")).addNewPort().withPort(9090).endPort().endSpec()
                .build()).create();

        apply(Apps.yaml("taken", ""));

        ZeroDowntimeApp app = awaitApp("taken", a -> condition(a, "Degraded") != null
                && "ChildConflict".equals(condition(a, "Degraded").getReason()));
        assertThat(condition(app, "Ready").getStatus()).isEqualTo("False");
        assertThat(condition(app, "Ready").getReason()).isEqualTo("ChildConflict");
        assertThat(condition(app, "Progressing").getMessage()).isEqualTo("no rollout while an object the app does "
                + "not own holds a child's name; the existing pods keep running");
        assertThat(condition(app, "Degraded").getMessage()).isEqualTo("Service taken already exists and has no "
                + "controller; the operator does not take it over and leaves it unchanged: rename the ZeroDowntimeApp "
                + "taken, or delete the Service so that the operator creates its own");
        await().atMost(WAIT).until(() -> events("ChildConflict").size() == 1);
        // No retry storm: one Event, and the foreign Service is never written to.
        await().during(Duration.ofSeconds(3)).atMost(Duration.ofSeconds(5)).until(() -> events("ChildConflict").size() == 1
                && foreign.getMetadata().getResourceVersion().equals(
                        client.services().inNamespace(ns).withName("taken").get().getMetadata().getResourceVersion()));
        Service after = client.services().inNamespace(ns).withName("taken").get();
        assertThat(after.getMetadata().getOwnerReferences()).isEmpty();
        assertThat(after.getMetadata().getLabels()).isEqualTo(Map.of("team", "payments"));
        assertThat(after.getSpec().getSelector()).isEqualTo(Map.of("team", "payments"));
        // The children that do not conflict are still written.
        awaitDeployment("taken", x -> true);

        // Once the user deletes the other Service, the next reconcile (here: an edit) creates the app's own.
        client.resource(after).withTimeout(10, java.util.concurrent.TimeUnit.SECONDS).delete();
        apply(Apps.yaml("taken", "").replace("replicas: 2", "replicas: 3"));
        Service own = await().atMost(WAIT).until(() -> client.services().inNamespace(ns).withName("taken").get(),
                x -> x != null && !x.getMetadata().getOwnerReferences().isEmpty());
        assertThat(own.getSpec().getSelector()).isEqualTo(Map.of(Constants.APP_LABEL, "taken"));
        awaitApp("taken", a -> !"ChildConflict".equals(condition(a, "Degraded").getReason()));
    }

    @Test
    void aDeploymentLeftByAnEarlierAppOfTheSameNameIsNotTakenOver() {
        // Owned by a ZeroDowntimeApp "legacy" that no longer exists: JOSDK maps it to the new app by name.
        Deployment leftover = client.resource(new io.fabric8.kubernetes.api.model.apps.DeploymentBuilder()
                .withNewMetadata().withName("legacy").withNamespace(ns)
                    .withLabels(Map.of(Constants.MANAGED_BY_LABEL, Constants.OPERATOR_NAME, Constants.APP_LABEL, "legacy"))
                    .addNewOwnerReference().withApiVersion("zdt.dev/v1alpha1").withKind("ZeroDowntimeApp").withName("legacy")
                        .withUid("00000000-0000-0000-0000-000000000001").withController(true).endOwnerReference()
                .endMetadata()
                .withNewSpec().withReplicas(1).withNewSelector().addToMatchLabels("run", "legacy").endSelector()
                    .withNewTemplate().withNewMetadata().addToLabels("run", "legacy").endMetadata()
                    .withNewSpec().addNewContainer().withName("old").withImage("localhost/old:1").endContainer().endSpec()
                    .endTemplate()
                .endSpec().build()).create();

        apply(Apps.yaml("legacy", ""));

        ZeroDowntimeApp app = awaitApp("legacy", a -> condition(a, "Degraded") != null
                && "ChildConflict".equals(condition(a, "Degraded").getReason()));
        assertThat(condition(app, "Degraded").getMessage()).startsWith("Deployment legacy already exists and is "
                + "controlled by ZeroDowntimeApp legacy (uid 00000000-0000-0000-0000-000000000001)")
                .contains("rename the ZeroDowntimeApp legacy, or delete the Deployment");
        await().atMost(WAIT).until(() -> events("ChildConflict").size() == 1);
        await().during(Duration.ofSeconds(3)).atMost(Duration.ofSeconds(5)).until(() -> leftover.getMetadata()
                .getResourceVersion().equals(client.apps().deployments().inNamespace(ns).withName("legacy").get()
                        .getMetadata().getResourceVersion()));
        assertThat(client.apps().deployments().inNamespace(ns).withName("legacy").get().getMetadata().getOwnerReferences())
                .singleElement().satisfies(o -> assertThat(o.getUid()).isEqualTo("00000000-0000-0000-0000-000000000001"));
    }

    /** A pod of the app as the kubelet reports it when its container cannot start. */
    private void podNotStarting(String app, String name, String reason, String message, Integer lastExitCode) {
        io.fabric8.kubernetes.api.model.Pod pod = client.resource(new io.fabric8.kubernetes.api.model.PodBuilder()
                .withNewMetadata().withName(name).withNamespace(ns)
                    .withLabels(Map.of(Constants.APP_LABEL, app, Constants.MANAGED_BY_LABEL, Constants.OPERATOR_NAME))
                .endMetadata()
                .withNewSpec().addNewContainer().withName("web").withImage("localhost/demo-app:missing").endContainer()
                .endSpec().build()).create();
        var container = new io.fabric8.kubernetes.api.model.ContainerStatusBuilder().withName("web").withReady(false)
                .withRestartCount(lastExitCode == null ? 0 : 4).withImage("localhost/demo-app:missing").withImageID("")
                .withNewState().withNewWaiting().withReason(reason).withMessage(message).endWaiting().endState();
        if (lastExitCode != null) {
            container.withNewLastState().withNewTerminated().withExitCode(lastExitCode).withReason("Error")
                    .endTerminated().endLastState();
        }
        pod.setStatus(new io.fabric8.kubernetes.api.model.PodStatusBuilder().withPhase("Pending")
                .withContainerStatuses(container.build()).build());
        client.pods().inNamespace(ns).resource(pod).updateStatus();
    }

    @Test
    void aTemplateThatFailsToStartIsNamedInTheStatus() {
        apply(Apps.yaml("broken", ""));
        Deployment d = awaitDeployment("broken", x -> true);
        d.setStatus(new DeploymentStatusBuilder().withObservedGeneration(d.getMetadata().getGeneration())
                .withReplicas(2).withReadyReplicas(0).withUpdatedReplicas(2).withAvailableReplicas(0)
                .withUnavailableReplicas(2).build());
        client.resource(d).updateStatus();

        podNotStarting("broken", "broken-1", "ImagePullBackOff", "Back-off pulling image \"localhost/demo-app:missing\"", null);
        podNotStarting("broken", "broken-2", "CrashLoopBackOff",
                "back-off 40s restarting failed container=web pod=broken-2", 1);

        ZeroDowntimeApp app = awaitApp("broken", a -> "PodsNotStarting".equals(condition(a, "Degraded").getReason())
                && condition(a, "Degraded").getMessage().contains("broken-2"));
        assertThat(condition(app, "Degraded").getStatus()).isEqualTo("True");
        assertThat(condition(app, "Degraded").getMessage()).isEqualTo("pod broken-1 container web: ImagePullBackOff; "
                + "pod broken-2 container web: CrashLoopBackOff; fix the template (image, command, config) and the "
                + "rollout continues");
        assertThat(condition(app, "Ready").getMessage()).isEqualTo("0 of 2 pods available; not starting: pod broken-1 "
                + "container web: ImagePullBackOff (Back-off pulling image \"localhost/demo-app:missing\"); pod broken-2 "
                + "container web: CrashLoopBackOff (back-off 40s restarting failed container=web pod=broken-2, last exit "
                + "code 1 (Error))");
        assertThat(condition(app, "Progressing").getMessage()).contains("not starting: pod broken-1");
        // Asserted, not polled for a boolean: a timeout names the Events that were there.
        await().atMost(WAIT).untilAsserted(() -> assertThat(events("PodsNotStarting"))
                .extracting(e -> e.getType() + ": " + e.getNote())
                .anyMatch(note -> note.startsWith("Warning: ") && note.contains("broken-2 container web: CrashLoopBackOff")));
    }

    @Test
    void aWarningTheApiServerRefusedIsWrittenOnALaterPass() {
        // An admission policy that refuses every Event in this namespace: the API server takes the
        // status and refuses the Warning, as it would under a timeout or an outage of the events API.
        try (RefusalPolicy refusal = RefusalPolicy.eventsRefused(client, ns, WAIT)) {

            apply(Apps.yaml("refused", ""));
            awaitDeployment("refused", x -> true);
            podNotStarting("refused", "refused-1", "ImagePullBackOff", "Back-off pulling image", null);
            awaitApp("refused", a -> "PodsNotStarting".equals(condition(a, "Degraded").getReason()));
            assertThat(events("PodsNotStarting")).as("the policy refuses every Event").isEmpty();
        }
        // The status already says PodsNotStarting; only the remembered refusal brings the Warning.
        await().atMost(StatusPath.EVENT_RETRY.plus(WAIT)).untilAsserted(() -> assertThat(
                events("PodsNotStarting")).extracting(e -> e.getType() + ": " + e.getNote())
                .anyMatch(note -> note.startsWith("Warning: ") && note.contains("refused-1 container web")));
        // Once written it is not owed any more: no second copy on the next passes.
        await().during(StatusPath.EVENT_RETRY.plusSeconds(2)).atMost(WAIT)
                .until(() -> events("PodsNotStarting").size() == 1);
    }

    @Test
    void anImageThatCannotBePulledIsNamedWhileOldPodsStillServe() {
        apply(Apps.yaml("upgrade", ""));
        Deployment d = awaitDeployment("upgrade", x -> true);
        // A rollout in progress: the two old pods are available, the one new pod cannot pull its image.
        d.setStatus(new DeploymentStatusBuilder().withObservedGeneration(d.getMetadata().getGeneration())
                .withReplicas(3).withReadyReplicas(2).withUpdatedReplicas(1).withAvailableReplicas(2).build());
        client.resource(d).updateStatus();
        podNotStarting("upgrade", "upgrade-new", "ErrImagePull", "pull access denied for localhost/demo-app", null);

        ZeroDowntimeApp app = awaitApp("upgrade", a -> "PodsNotStarting".equals(condition(a, "Degraded").getReason()));
        assertThat(condition(app, "Ready").getStatus()).isEqualTo("True");
        assertThat(condition(app, "Progressing").getStatus()).isEqualTo("True");
        assertThat(condition(app, "Progressing").getMessage()).isEqualTo("1 of 2 pods updated, 2 ready, 0 draining; "
                + "not starting: pod upgrade-new container web: ErrImagePull (pull access denied for localhost/demo-app)");
        assertThat(condition(app, "Degraded").getMessage()).startsWith("pod upgrade-new container web: ErrImagePull;");
    }

    /**
     * Stand in for the Deployment controller: the counts, and its copy of the new ReplicaSet's
     * ReplicaFailure condition when the ReplicaSet's pod creations are refused with {@code failedCreate}.
     */
    private void deploymentReports(String name, int replicas, int available, String failedCreate) {
        String now = java.time.Instant.now().truncatedTo(java.time.temporal.ChronoUnit.SECONDS).toString();
        client.apps().deployments().inNamespace(ns).withName(name).editStatus(d -> {
            var status = new DeploymentStatusBuilder().withObservedGeneration(d.getMetadata().getGeneration())
                    .withReplicas(replicas).withUpdatedReplicas(replicas).withReadyReplicas(available)
                    .withAvailableReplicas(available);
            if (failedCreate != null) {
                status.addNewCondition().withType("ReplicaFailure").withStatus("True").withReason("FailedCreate")
                        .withMessage(failedCreate).withLastUpdateTime(now).withLastTransitionTime(now).endCondition();
            }
            d.setStatus(status.build());
            return d;
        });
    }

    private static final String PSA_REFUSAL = "pods \"refused-7d9c5b6f4-abcde\" is forbidden: violates PodSecurity "
            + "\"baseline:latest\": host namespaces (hostNetwork=true)";
    private static final String QUOTA_REFUSAL = "pods \"refused-7d9c5b6f4-fghij\" is forbidden: exceeded quota: "
            + "compute, requested: pods=1, used: pods=1, limited: pods=1";

    @Test
    void podsTheReplicaSetCannotCreateAreNamedWithOneEventUntilTheyCanBe() {
        apply(Apps.yaml("refused", ""));
        awaitDeployment("refused", x -> true);
        awaitApp("refused", a -> condition(a, "Ready") != null);

        deploymentReports("refused", 0, 0, PSA_REFUSAL);

        ZeroDowntimeApp app = awaitApp("refused", a -> "PodsNotCreated".equals(condition(a, "Degraded").getReason()));
        assertThat(condition(app, "Degraded").getStatus()).isEqualTo("True");
        assertThat(condition(app, "Degraded").getMessage()).isEqualTo("the ReplicaSet cannot create pods: "
                + PSA_REFUSAL + "; change the template, or what refuses it (Pod Security level, ResourceQuota, "
                + "admission webhook), and the ReplicaSet creates the pods on its next try");
        assertThat(condition(app, "Ready").getStatus()).isEqualTo("False");
        assertThat(condition(app, "Ready").getReason()).isEqualTo("InsufficientReplicas");
        assertThat(condition(app, "Ready").getMessage()).isEqualTo("0 of 2 pods available; not created: " + PSA_REFUSAL);
        assertThat(condition(app, "Progressing").getMessage()).endsWith("; not created: " + PSA_REFUSAL);
        String degradedSince = condition(app, "Degraded").getLastTransitionTime();
        await().atMost(WAIT).until(() -> events("PodsNotCreated").size() == 1);
        assertThat(events("PodsNotCreated")).singleElement().satisfies(e -> {
            assertThat(e.getType()).isEqualTo("Warning");
            assertThat(e.getNote()).isEqualTo(condition(app, "Degraded").getMessage());
            assertThat(e.getRegarding().getName()).isEqualTo("refused");
        });

        // The Deployment controller writes again (one pod created before the refusal): the app is
        // reconciled again, with the same refusal, and no second Event is written.
        deploymentReports("refused", 1, 0, PSA_REFUSAL);
        ZeroDowntimeApp again = awaitApp("refused",
                a -> condition(a, "Progressing").getMessage().startsWith("1 of 2 pods updated"));
        assertThat(condition(again, "Degraded").getLastTransitionTime()).isEqualTo(degradedSince);
        await().during(Duration.ofSeconds(3)).atMost(Duration.ofSeconds(5)).until(() -> events("PodsNotCreated").size() == 1);

        // The refusal clears (the namespace's level lowered): the ReplicaSet creates the pods.
        deploymentReports("refused", 2, 2, null);

        ZeroDowntimeApp cleared = awaitApp("refused", a -> "False".equals(condition(a, "Degraded").getStatus()));
        assertThat(condition(cleared, "Degraded").getReason()).isEqualTo("AsExpected");
        assertThat(condition(cleared, "Degraded").getMessage()).isEmpty();
        assertThat(java.time.Instant.parse(condition(cleared, "Degraded").getLastTransitionTime()))
                .isAfterOrEqualTo(java.time.Instant.parse(degradedSince));
        assertThat(condition(cleared, "Ready").getStatus()).isEqualTo("True");
        assertThat(condition(cleared, "Ready").getMessage()).doesNotContain("not created");
        assertThat(events("PodsNotCreated")).hasSize(1);
    }

    @Test
    void aDifferentRefusalIsANewEventAndKeepsTheTransitionTime() {
        apply(Apps.yaml("refused", ""));
        awaitDeployment("refused", x -> true);
        awaitApp("refused", a -> condition(a, "Ready") != null);
        deploymentReports("refused", 0, 0, PSA_REFUSAL);
        ZeroDowntimeApp first = awaitApp("refused", a -> "PodsNotCreated".equals(condition(a, "Degraded").getReason()));
        await().atMost(WAIT).until(() -> events("PodsNotCreated").size() == 1);
        // Past the second of the first transition, so that a lastTransitionTime moved by mistake shows.
        java.time.Instant firstTransition = java.time.Instant.parse(condition(first, "Degraded").getLastTransitionTime());
        await().atMost(Duration.ofSeconds(3)).until(() -> java.time.Instant.now().isAfter(firstTransition.plusSeconds(1)));

        deploymentReports("refused", 0, 0, QUOTA_REFUSAL);

        ZeroDowntimeApp second = awaitApp("refused", a -> condition(a, "Degraded").getMessage().contains(QUOTA_REFUSAL));
        assertThat(condition(second, "Degraded").getReason()).isEqualTo("PodsNotCreated");
        assertThat(condition(second, "Degraded").getMessage()).doesNotContain(PSA_REFUSAL);
        assertThat(condition(second, "Degraded").getLastTransitionTime())
                .isEqualTo(condition(first, "Degraded").getLastTransitionTime());
        assertThat(condition(second, "Ready").getLastTransitionTime())
                .isEqualTo(condition(first, "Ready").getLastTransitionTime());
        await().atMost(WAIT).until(() -> events("PodsNotCreated").size() == 2);
        await().during(Duration.ofSeconds(3)).atMost(Duration.ofSeconds(5)).until(() -> events("PodsNotCreated").size() == 2);
        assertThat(events("PodsNotCreated")).extracting(Event::getNote)
                .anySatisfy(note -> assertThat(note).contains(PSA_REFUSAL))
                .anySatisfy(note -> assertThat(note).contains(QUOTA_REFUSAL));
    }

    @Test
    void anUnknownContainerNameIsReported() {
        apply(Apps.yaml("named", "containerName: api"));

        ZeroDowntimeApp app = awaitInvalidSpec("named");
        assertThat(condition(app, "Ready").getMessage())
                .isEqualTo("containerName 'api' is not in template.spec.containers; containers: web");
        assertThat(client.apps().deployments().inNamespace(ns).withName("named").get()).isNull();
    }

    @Test
    void aGraceAboveTwoHoursIsReported() {
        apply(Apps.yaml("slow", """
                drain:
                  maxRequestSeconds: 3600
                  holdSeconds: 3600
                """));

        ZeroDowntimeApp app = awaitInvalidSpec("slow");
        assertThat(condition(app, "Ready").getMessage()).startsWith("the derived terminationGracePeriodSeconds 7205s exceeds "
                + "7200s; lower");
    }
}
