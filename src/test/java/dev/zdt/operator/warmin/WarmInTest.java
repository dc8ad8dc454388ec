package dev.zdt.operator.warmin;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.time.Duration;
import java.util.List;
import java.util.Map;

import jakarta.inject.Inject;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import dev.zdt.operator.Constants;
import dev.zdt.operator.api.v1alpha1.ZeroDowntimeApp;
import dev.zdt.operator.testing.Apps;
import dev.zdt.operator.testing.KubeApiServerResource;
import io.fabric8.kubernetes.api.model.NamespaceBuilder;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodBuilder;
import io.fabric8.kubernetes.api.model.PodCondition;
import io.fabric8.kubernetes.api.model.PodConditionBuilder;
import io.fabric8.kubernetes.api.model.PodReadinessGate;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointSliceBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.junit.QuarkusTest;

/**
 * Warm-in against a real kube-apiserver + etcd. There is no kubelet: the test writes the pods and
 * their ContainersReady condition as a kubelet would, and watches what the operator writes back.
 */
@QuarkusTest
@QuarkusTestResource(value = KubeApiServerResource.class, restrictToAnnotatedClass = false)
class WarmInTest {

    private static final Duration WAIT = Duration.ofSeconds(30);

    @Inject
    KubernetesClient client;

    private String ns;

    @BeforeEach
    void namespace() {
        ns = "w-" + Long.toString(System.nanoTime(), 36);
        client.resource(new NamespaceBuilder().withNewMetadata().withName(ns).endMetadata().build()).create();
        Apps.ensureGateService(client);
        gateEndpoint(true);
    }

    /** This replica (named zdt-operator outside a pod) as an endpoint of the gate Service, ready or not. */
    private void gateEndpoint(boolean ready) {
        client.resource(new EndpointSliceBuilder().withNewMetadata().withName("zdt-operator-gate-test")
                .withNamespace("default").withLabels(Map.of("kubernetes.io/service-name", "zdt-operator-gate")).endMetadata()
                .withAddressType("IPv4")
                .addNewPort().withName("http").withPort(8080).withProtocol("TCP").endPort()
                .addNewEndpoint().withAddresses("10.78.0.1").withNewConditions().withReady(ready).withServing(ready)
                .withTerminating(false).endConditions()
                .withNewTargetRef().withKind("Pod").withName(Constants.OPERATOR_NAME).withNamespace("default").endTargetRef()
                .endEndpoint()
                .build()).serverSideApply();
    }

    @AfterEach
    void cleanUp() {
        client.namespaces().withName(ns).delete();
    }

    private Deployment deploymentOf(String yaml) {
        ZeroDowntimeApp app = Apps.parse(yaml);
        app.getMetadata().setNamespace(ns);
        client.resource(app).serverSideApply();
        String name = app.getMetadata().getName();
        return await().atMost(WAIT).until(() -> client.apps().deployments().inNamespace(ns).withName(name).get(),
                d -> d != null);
    }

    private static List<String> readinessConditions(Deployment d) {
        List<PodReadinessGate> listed = d.getSpec().getTemplate().getSpec().getReadinessGates();
        return listed == null ? List.of() : listed.stream().map(PodReadinessGate::getConditionType).toList();
    }

    @Test
    void gateAndExecModesCarryTheInRotationConditionAndSleepModeDoesNot() {
        assertThat(readinessConditions(deploymentOf(Apps.yaml("gated", "")))).containsExactly(Constants.IN_ROTATION_CONDITION);
        assertThat(readinessConditions(deploymentOf(Apps.yaml("execd", "drain:\n  mode: exec")))).containsExactly(Constants.IN_ROTATION_CONDITION);
        assertThat(readinessConditions(deploymentOf(Apps.yaml("slept", "drain:\n  mode: sleep")))).isEmpty();
    }

    @Test
    void theUsersOwnReadinessGatesAreKept() {
        String yaml = Apps.yaml("own", "").replace("      containers:",
                "      readinessGates:\n      - conditionType: example.com/warm-cache\n      containers:");
        assertThat(readinessConditions(deploymentOf(yaml))).containsExactly("example.com/warm-cache", Constants.IN_ROTATION_CONDITION);
    }

    @Test
    void admitsOurPodsOnceTheirContainersAreReadyAndNeverAStranger() {
        Pod stranger = pod("web-stranger", null, true);      // labelled by hand, no ReplicaSet owns it
        Pod starting = pod("web-6f7c-starting", "web-6f7c", false);
        Pod ready = pod("web-6f7c-ready", "web-6f7c", true);

        PodCondition admitted = awaitAdmitted(ready);
        assertThat(admitted.getReason()).isEqualTo(Admission.REASON);
        assertThat(admitted.getMessage()).contains("admitted by operator replica");
        // Both were written before `ready`; the informer delivered them first and decided them first.
        assertThat(inRotation(read(starting))).isNull();
        assertThat(inRotation(read(stranger))).isNull();

        setContainersReady(read(starting), "True");
        awaitAdmitted(starting);
        assertThat(inRotation(read(stranger))).isNull();
    }

    @Test
    void admitsNothingWhileThisReplicaIsNotAReadyGateEndpoint() {
        gateEndpoint(false); // starting up, or stopping: the gate Service does not route to this replica
        Pod pod = pod("web-5d4c-early", "web-5d4c", true);
        await().during(Duration.ofSeconds(2)).atMost(Duration.ofSeconds(3))
                .until(() -> inRotation(read(pod)) == null);

        gateEndpoint(true);
        assertThat(awaitAdmitted(pod).getReason()).isEqualTo(Admission.REASON);
    }

    private Pod pod(String name, String replicaSet, boolean containersReady) {
        PodBuilder b = new PodBuilder().withNewMetadata().withName(name).withNamespace(ns)
                .withLabels(Map.of(Constants.APP_LABEL, "web", Constants.MANAGED_BY_LABEL, Constants.OPERATOR_NAME))
                .endMetadata()
                .withNewSpec().addNewContainer().withName("web").withImage("localhost/demo-app:latest").endContainer()
                .addNewReadinessGate(Constants.IN_ROTATION_CONDITION).endSpec();
        if (replicaSet != null) {
            b.editMetadata().addNewOwnerReference().withApiVersion("apps/v1").withKind("ReplicaSet")
                    .withName(replicaSet).withUid("00000000-0000-0000-0000-000000000001").withController(true)
                    .endOwnerReference().endMetadata();
        }
        Pod created = client.resource(b.build()).create();
        return setContainersReady(created, containersReady ? "True" : "False");
    }

    private Pod setContainersReady(Pod pod, String status) {
        pod.setStatus(new io.fabric8.kubernetes.api.model.PodStatusBuilder().withPhase("Running")
                .withConditions(new PodConditionBuilder().withType("ContainersReady").withStatus(status).build())
                .build());
        return client.pods().inNamespace(ns).resource(pod).updateStatus();
    }

    private Pod read(Pod pod) {
        return client.pods().inNamespace(ns).withName(pod.getMetadata().getName()).get();
    }

    private PodCondition awaitAdmitted(Pod pod) {
        return await().atMost(WAIT).until(() -> inRotation(read(pod)), c -> c != null && "True".equals(c.getStatus()));
    }

    private static PodCondition inRotation(Pod pod) {
        return pod.getStatus().getConditions().stream()
                .filter(c -> Constants.IN_ROTATION_CONDITION.equals(c.getType())).findFirst().orElse(null);
    }
}
