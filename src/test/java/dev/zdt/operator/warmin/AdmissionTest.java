package dev.zdt.operator.warmin;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Instant;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;

import dev.zdt.operator.Constants;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodBuilder;
import io.fabric8.kubernetes.api.model.PodCondition;
import io.fabric8.kubernetes.api.model.PodConditionBuilder;

class AdmissionTest {

    private static final Instant NOW = Instant.parse("2026-11-23T10:00:00.123Z");

    private static Pod pod(boolean inRotationCondition, String containersReady, String inRotation, boolean terminating) {
        PodBuilder b = new PodBuilder().withNewMetadata().withName("web-7d9f-abcde").withNamespace("shop")
                .withLabels(Map.of(Constants.APP_LABEL, "web", Constants.MANAGED_BY_LABEL, Constants.OPERATOR_NAME))
                .addNewOwnerReference().withApiVersion("apps/v1").withKind("ReplicaSet").withName("web-7d9f")
                .withUid("u1").withController(true).endOwnerReference()
                .withDeletionTimestamp(terminating ? "2026-11-23T09:59:00Z" : null)
                .endMetadata()
                .withNewSpec().addNewContainer().withName("web").withImage("demo").endContainer().endSpec();
        if (inRotationCondition) {
            b.editSpec().addNewReadinessGate(Constants.IN_ROTATION_CONDITION).endSpec();
        }
        List<PodCondition> conditions = new java.util.ArrayList<>();
        if (containersReady != null) {
            conditions.add(new PodConditionBuilder().withType("ContainersReady").withStatus(containersReady).build());
        }
        if (inRotation != null) {
            conditions.add(new PodConditionBuilder().withType(Constants.IN_ROTATION_CONDITION).withStatus(inRotation).build());
        }
        return b.withNewStatus().withConditions(conditions).endStatus().build();
    }

    @Test
    void admitsAPodWhoseContainersAreReady() {
        PodCondition c = Admission.decide(pod(true, "True", null, false), "zdt-operator-0", NOW).orElseThrow();
        assertThat(c.getType()).isEqualTo("zdt.dev/in-rotation");
        assertThat(c.getStatus()).isEqualTo("True");
        assertThat(c.getReason()).isEqualTo("Admitted");
        assertThat(c.getMessage()).contains("zdt-operator-0");
        assertThat(c.getLastTransitionTime()).isEqualTo("2026-11-23T10:00:00Z");
    }

    @Test
    void waitsForTheContainers() {
        assertThat(Admission.decide(pod(true, "False", null, false), "r", NOW)).isEmpty();
        assertThat(Admission.decide(pod(true, null, null, false), "r", NOW)).isEmpty();
    }

    @Test
    void leavesAlonePodsWithoutTheInRotationConditionTerminatingPodsAndAdmittedPods() {
        assertThat(Admission.decide(pod(false, "True", null, false), "r", NOW)).isEmpty();
        assertThat(Admission.decide(pod(true, "True", null, true), "r", NOW)).isEmpty();
        assertThat(Admission.decide(pod(true, "True", "True", false), "r", NOW)).isEmpty();
    }

    @Test
    void writesAgainWhenSomeoneSetTheConditionFalse() {
        assertThat(Admission.decide(pod(true, "True", "False", false), "r", NOW)).isPresent();
    }

    @Test
    void onlyPodsOfTheAppsReplicaSetsAreOurs() {
        Pod ours = pod(true, "True", null, false);
        assertThat(WarmIn.ours(ours)).isTrue();
        Pod handLabelled = new PodBuilder(ours).editMetadata().withOwnerReferences().endMetadata().build();
        assertThat(WarmIn.ours(handLabelled)).isFalse();
        Pod otherApp = new PodBuilder(ours).editMetadata().editFirstOwnerReference().withName("db-5c6b")
                .endOwnerReference().endMetadata().build();
        assertThat(WarmIn.ours(otherApp)).isFalse();
        Pod notController = new PodBuilder(ours).editMetadata().editFirstOwnerReference().withController(false)
                .endOwnerReference().endMetadata().build();
        assertThat(WarmIn.ours(notController)).isFalse();
        Pod otherManager = new PodBuilder(ours).editMetadata()
                .withLabels(Map.of(Constants.APP_LABEL, "web", Constants.MANAGED_BY_LABEL, "helm")).endMetadata().build();
        assertThat(WarmIn.ours(otherManager)).isFalse();
    }

    private static Pod readyPod(String uid, String containersReadySince) {
        Pod p = pod(true, "True", null, false);
        p.getMetadata().setUid(uid);
        p.getStatus().getConditions().get(0).setLastTransitionTime(containersReadySince);
        return p;
    }

    @Test
    void eachPodHasExactlyOneWriterAmongTheServingReplicas() {
        List<String> serving = List.of("zdt-operator-b", "zdt-operator-a");
        Map<String, Integer> perReplica = new java.util.HashMap<>();
        for (int i = 0; i < 200; i++) {
            Pod p = readyPod("uid-" + i, NOW.toString());
            List<String> writers = serving.stream().filter(r -> Admission.writes(p, r, serving, NOW)).toList();
            assertThat(writers).as("writers of pod %d", i).hasSize(1);
            // Every replica picks the same owner, whatever order it reads the EndpointSlice in.
            assertThat(Admission.writes(p, writers.get(0), List.of("zdt-operator-a", "zdt-operator-b"), NOW)).isTrue();
            perReplica.merge(writers.get(0), 1, Integer::sum);
        }
        assertThat(perReplica.keySet()).as("both replicas share the pods").containsExactlyInAnyOrder(serving.toArray(String[]::new));
        assertThat(perReplica.values()).allMatch(n -> n > 50);
    }

    @Test
    void anotherServingReplicaStepsInOnceTheOwnerIsOverdue() {
        List<String> serving = List.of("zdt-operator-a", "zdt-operator-b");
        Pod p = readyPod("u-overdue", NOW.minusSeconds(3).toString());
        String other = serving.stream().filter(r -> !Admission.writes(p, r, serving, NOW)).findFirst().orElseThrow();
        assertThat(Admission.writes(p, other, serving, NOW.plus(Admission.TAKEOVER).minusSeconds(4))).isFalse();
        assertThat(Admission.writes(p, other, serving, NOW.plus(Admission.TAKEOVER).minusSeconds(3))).isTrue();
    }

    @Test
    void withoutAListOfServingReplicasEveryReplicaWrites() {
        Pod p = readyPod("u-fixed-host", NOW.toString());
        assertThat(Admission.writes(p, "zdt-operator-a", List.of(), NOW)).isTrue();
        assertThat(Admission.writes(p, "zdt-operator-b", List.of(), NOW)).isTrue();
    }
}
