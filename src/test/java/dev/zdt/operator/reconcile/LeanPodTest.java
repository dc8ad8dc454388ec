package dev.zdt.operator.reconcile;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Instant;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;

import dev.zdt.operator.Constants;
import dev.zdt.operator.pod.DrainHelper;
import dev.zdt.operator.kube.Lean;
import dev.zdt.operator.policy.PolicyPods;
import dev.zdt.operator.warmin.Admission;
import io.fabric8.kubernetes.api.model.ContainerStatusBuilder;
import io.fabric8.kubernetes.api.model.ManagedFieldsEntryBuilder;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodBuilder;
import io.fabric8.kubernetes.api.model.PodConditionBuilder;
import io.fabric8.kubernetes.api.model.PodSpec;
import io.fabric8.kubernetes.api.model.TolerationBuilder;
import io.fabric8.kubernetes.api.model.VolumeBuilder;
import io.fabric8.kubernetes.client.utils.Serialization;

/**
 * The pod cache keeps a slim pod ({@link Lean}): every reader of a cached pod (the status's pod
 * trouble, warm-in's admission, a DrainPolicy's protected count, the gate's address and hold) must
 * answer the same on it as on the pod the API server sent, and the parts nobody reads are gone.
 * The pod is one the operator renders, as the kubelet reports it: a crash-looping serving
 * container, the helper's init container done, the in-rotation condition not yet written.
 */
class LeanPodTest {

    @Test
    void everyReaderOfACachedPodAnswersTheSameOnTheSlimPod() {
        Pod whole = renderedPod("shop", "web-1");
        Pod slim = Lean.strip(Serialization.clone(whole));

        assertThat(PodTrouble.describe(PodTrouble.of(List.of(slim)), true))
                .isEqualTo(PodTrouble.describe(PodTrouble.of(List.of(whole)), true))
                .contains("CrashLoopBackOff").contains("last exit code 137");
        assertThat(Admission.awaitsInRotation(slim)).isEqualTo(Admission.awaitsInRotation(whole)).isTrue();
        Instant now = Instant.parse("2026-12-02T01:00:00Z");
        assertThat(Admission.decide(slim, "r-0", now)).isEqualTo(Admission.decide(whole, "r-0", now));
        Pod ready = withCondition(whole, "ContainersReady", "True");
        assertThat(Admission.decide(Lean.strip(Serialization.clone(ready)), "r-0", now))
                .isEqualTo(Admission.decide(ready, "r-0", now)).isPresent();
        assertThat(slim.getStatus().getPodIP()).isEqualTo("10.244.0.17");
        assertThat(slim.getMetadata().getAnnotations()).isEqualTo(whole.getMetadata().getAnnotations())
                .containsKey(Constants.HOLD_ANNOTATION);
        assertThat(slim.getMetadata().getLabels()).isEqualTo(whole.getMetadata().getLabels());
        assertThat(slim.getMetadata().getOwnerReferences()).isEqualTo(whole.getMetadata().getOwnerReferences());
        assertThat(slim.getMetadata().getDeletionTimestamp()).isEqualTo(whole.getMetadata().getDeletionTimestamp());

        Pod policyPod = new PodBuilder(whole).editMetadata()
                .addToLabels(Constants.APP_LABEL, Constants.policyAppName("web")).endMetadata().build();
        assertThat(PolicyPods.isProtected(Lean.strip(Serialization.clone(policyPod)), "web"))
                .isEqualTo(PolicyPods.isProtected(policyPod, "web")).isTrue();
    }

    @Test
    void theSlimPodDropsWhatNoReaderReads() {
        Pod whole = renderedPod("shop", "web-1");
        Pod slim = Lean.strip(Serialization.clone(whole));

        assertThat(slim.getMetadata().getManagedFields()).isNullOrEmpty();
        PodSpec spec = slim.getSpec();
        assertThat(spec.getContainers()).extracting(c -> c.getName())
                .containsExactlyElementsOf(whole.getSpec().getContainers().stream().map(c -> c.getName()).toList());
        assertThat(spec.getInitContainers()).extracting(c -> c.getName()).containsExactly(DrainHelper.INIT_CONTAINER);
        assertThat(spec.getContainers()).allSatisfy(c -> {
            assertThat(c.getImage()).isNull();
            assertThat(c.getEnv()).isNullOrEmpty();
            assertThat(c.getLifecycle()).isNull();
            assertThat(c.getVolumeMounts()).isNullOrEmpty();
        });
        assertThat(spec.getVolumes()).isNullOrEmpty();
        assertThat(spec.getTolerations()).isNullOrEmpty();
        assertThat(spec.getTerminationGracePeriodSeconds()).isEqualTo(whole.getSpec().getTerminationGracePeriodSeconds());
        assertThat(slim.getStatus().getHostIP()).isNull();
        assertThat(slim.getStatus().getContainerStatuses()).allSatisfy(s -> assertThat(s.getImageID()).isNull());

        int wholeBytes = Serialization.asJson(whole).length();
        int slimBytes = Serialization.asJson(slim).length();
        // This pod: 3,088 bytes of JSON whole, 1,328 slim. A pod as the API server stores it carries
        // more that nobody reads (defaults, more mounts and environment), so it loses more.
        assertThat(slimBytes).as("slim %d bytes vs whole %d", slimBytes, wholeBytes).isLessThan(wholeBytes / 2);
    }

    /** A pod of the Deployment the operator renders for a gate-mode app, as the API server returns it. */
    private static Pod renderedPod(String namespace, String name) {
        var app = DeploymentRenderTest.app(DeploymentRenderTest.WEB, "");
        var template = DeploymentRenderTest.render(app, "token-abc").getSpec().getTemplate();
        String serving = template.getSpec().getContainers().get(0).getName();
        return new PodBuilder()
                .withNewMetadata().withName(name).withNamespace(namespace).withUid("uid-" + name)
                    .withResourceVersion("4711").withLabels(template.getMetadata().getLabels())
                    .withAnnotations(template.getMetadata().getAnnotations())
                    .addNewOwnerReference().withApiVersion("apps/v1").withKind("ReplicaSet").withName("shop-7d9f")
                        .withUid("rs-uid").withController(true).endOwnerReference()
                    .withManagedFields(new ManagedFieldsEntryBuilder().withManager("kube-controller-manager")
                        .withOperation("Update").withApiVersion("v1")
                        .withNewFieldsV1().addToAdditionalProperties("f:metadata", Map.of("f:labels", Map.of())).endFieldsV1()
                        .build())
                .endMetadata()
                .withSpec(new io.fabric8.kubernetes.api.model.PodSpecBuilder(template.getSpec())
                    .withNodeName("node-1").withServiceAccountName("default")
                    .addToVolumes(new VolumeBuilder().withName("kube-api-access-x7k2p").withNewProjected()
                        .addNewSource().withNewServiceAccountToken().withPath("token").withExpirationSeconds(3607L)
                        .endServiceAccountToken().endSource()
                        .addNewSource().withNewConfigMap().withName("kube-root-ca.crt").endConfigMap().endSource()
                        .endProjected().build())
                    .addToTolerations(new TolerationBuilder().withKey("node.kubernetes.io/not-ready")
                        .withOperator("Exists").withEffect("NoExecute").withTolerationSeconds(300L).build())
                    .build())
                .withNewStatus().withPhase("Running").withHostIP("10.0.0.4").withPodIP("10.244.0.17")
                    .addNewPodIP("10.244.0.17").withQosClass("Burstable").withStartTime("2026-12-02T00:59:00Z")
                    .addToConditions(new PodConditionBuilder().withType("PodScheduled").withStatus("True").build(),
                        new PodConditionBuilder().withType("ContainersReady").withStatus("False")
                            .withReason("ContainersNotReady").build(),
                        new PodConditionBuilder().withType("Ready").withStatus("False").build())
                    .addToInitContainerStatuses(new ContainerStatusBuilder().withName(DrainHelper.INIT_CONTAINER)
                        .withImage("localhost/zdt-drain:abc123").withImageID("sha256:1").withContainerID("containerd://1")
                        .withReady(true).withRestartCount(0).withNewState().withNewTerminated().withExitCode(0)
                        .withReason("Completed").endTerminated().endState().build())
                    .addToContainerStatuses(new ContainerStatusBuilder().withName(serving)
                        .withImage("localhost/demo-app:dev").withImageID("sha256:2").withContainerID("containerd://2")
                        .withReady(false).withRestartCount(3).withNewState().withNewWaiting().withReason("CrashLoopBackOff")
                        .withMessage("back-off 40s restarting failed container").endWaiting().endState()
                        .withNewLastState().withNewTerminated().withExitCode(137).withReason("OOMKilled")
                        .endTerminated().endLastState().build())
                .endStatus()
                .build();
    }

    private static Pod withCondition(Pod pod, String type, String status) {
        Pod copy = Serialization.clone(pod);
        copy.getStatus().getConditions().removeIf(c -> type.equals(c.getType()));
        copy.getStatus().getConditions().add(new PodConditionBuilder().withType(type).withStatus(status).build());
        return copy;
    }
}
