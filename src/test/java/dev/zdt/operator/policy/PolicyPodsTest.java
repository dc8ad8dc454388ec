package dev.zdt.operator.policy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import dev.zdt.operator.Constants;
import dev.zdt.operator.api.InvalidSpecException;
import dev.zdt.operator.api.v1alpha1.DrainPolicy;
import dev.zdt.operator.pod.DrainHelper;
import dev.zdt.operator.pod.PodIdentity;
import dev.zdt.operator.pod.DrainHelperConfig;
import dev.zdt.operator.pod.GateEndpoint;
import io.fabric8.kubernetes.api.model.LabelSelector;
import io.fabric8.kubernetes.api.model.LabelSelectorBuilder;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodBuilder;
import io.fabric8.kubernetes.client.utils.Serialization;

/** What a DrainPolicy does to a pod, without a cluster. */
class PolicyPodsTest {

    private static final GateEndpoint GATE = new GateEndpoint("10.96.0.10", 80);
    private static final DrainHelperConfig HELPER = new DrainHelperConfig() {
        @Override
        public String image() {
            return "localhost/zdt-drain:test";
        }

        @Override
        public String pullPolicy() {
            return "IfNotPresent";
        }
    };

    private static DrainPolicy policy(String name, String extra) {
        DrainPolicy p = Serialization.unmarshal("""
                apiVersion: zdt.dev/v1alpha1
                kind: DrainPolicy
                metadata:
                  name: %s
                  namespace: shop
                spec:
                  selector:
                    matchLabels: {app: web}
                  services: [web]
                  traffic: {provider: health-probe}
                %s""".formatted(name, extra), DrainPolicy.class);
        return p;
    }

    private static Pod pod(Map<String, String> labels) {
        return new PodBuilder().withNewMetadata().withGenerateName("web-").withLabels(labels).endMetadata()
                .withNewSpec().addNewContainer().withName("web").withImage("web:1").endContainer().endSpec().build();
    }

    @Test
    void selectorsFollowKubernetesSemanticsAndAnEmptyOneMatchesNothing() {
        LabelSelector sel = new LabelSelectorBuilder().addToMatchLabels("app", "web")
                .addNewMatchExpression().withKey("tier").withOperator("In").withValues("front", "edge").endMatchExpression()
                .addNewMatchExpression().withKey("canary").withOperator("DoesNotExist").endMatchExpression()
                .build();
        assertThat(PolicyPods.matches(sel, Map.of("app", "web", "tier", "edge"))).isTrue();
        assertThat(PolicyPods.matches(sel, Map.of("app", "web", "tier", "back"))).isFalse();
        assertThat(PolicyPods.matches(sel, Map.of("app", "web", "tier", "front", "canary", "y"))).isFalse();
        assertThat(PolicyPods.matches(sel, Map.of("tier", "front"))).isFalse();
        assertThat(PolicyPods.matches(new LabelSelector(), Map.of("app", "web"))).isFalse();
        assertThat(PolicyPods.matches(null, Map.of("app", "web"))).isFalse();
    }

    @Test
    void thePolicyWhoseNameSortsFirstTakesAPodAndAZeroDowntimeAppsPodIsExempt() {
        DrainPolicy b = policy("b", "");
        DrainPolicy a = policy("a", "");
        assertThat(PolicyPods.choose(pod(Map.of("app", "web")), List.of(b, a))).get()
                .satisfies(p -> assertThat(p.getMetadata().getName()).isEqualTo("a"));
        assertThat(PolicyPods.choose(pod(Map.of("app", "db")), List.of(b, a))).isEmpty();
        assertThat(PolicyPods.exempt(pod(Map.of("app", "web", Constants.APP_LABEL, "shop")))).isTrue();
        assertThat(PolicyPods.exempt(pod(Map.of("app", "web", Constants.MANAGED_BY_LABEL, "Helm")))).isFalse();
    }

    @Test
    void theDrainIsAddedAndThePatchSetsOnlyWhatItAdds() throws Exception {
        DrainPolicy p = policy("web", "  drain: {maxRequestSeconds: 10}\n");
        Pod before = pod(Map.of("app", "web"));
        var budget = PolicyPods.budget(p);
        Pod after = PolicyPods.protect(before, p, budget, GATE, HELPER, "shop");
        // The pod proves who it is with its own projected token: the patch (the webhook's reply) carries no credential.
        assertThat(after.getSpec().getVolumes()).anySatisfy(v -> {
            assertThat(v.getName()).isEqualTo(PodIdentity.VOLUME);
            var projected = v.getProjected().getSources().get(0).getServiceAccountToken();
            assertThat(projected.getAudience()).isEqualTo(PodIdentity.AUDIENCE);
            assertThat(projected.getExpirationSeconds()).isEqualTo(PodIdentity.EXPIRATION_SECONDS);
        });
        assertThat(after.getSpec().getContainers().get(0).getVolumeMounts()).anySatisfy(m -> {
            assertThat(m.getMountPath()).isEqualTo(PodIdentity.MOUNT_PATH);
            assertThat(m.getReadOnly()).isTrue();
        });
        assertThat(after.getSpec().getContainers().get(0).getLifecycle().getPreStop().getExec().getCommand())
                .containsSequence("--token-file", PodIdentity.TOKEN_FILE);
        assertThat(PolicyPods.patch(before, after)).doesNotContain("ZDT_GATE_TOKEN").doesNotContain("Bearer");

        assertThat(after.getSpec().getTerminationGracePeriodSeconds()).isEqualTo((long) budget.terminationGracePeriodSeconds());
        assertThat(PolicyPods.isProtected(after, "web")).isTrue();
        assertThat(PolicyPods.isProtected(before, "web")).isFalse();
        assertThat(PolicyPods.isProtected(after, "other")).isFalse();

        JsonNode ops = new ObjectMapper().readTree(PolicyPods.patch(before, after));
        assertThat(ops).extracting(o -> o.get("path").asText()).containsExactlyInAnyOrder("/metadata/labels",
                "/metadata/annotations", "/spec/initContainers", "/spec/containers", "/spec/volumes",
                "/spec/readinessGates", "/spec/terminationGracePeriodSeconds",
                // The projected token needs a named ServiceAccount; a cluster's admission has named it by then.
                "/spec/serviceAccountName");
        assertThat(ops).allSatisfy(o -> assertThat(o.get("op").asText()).isEqualTo("add"));
        // Applying it gives the protected pod: what the API server will store.
        assertThat(PolicyPods.patch(after, after)).isEqualTo("[]");
    }

    @Test
    void aPodThatAsksForMoreGraceKeepsItAndNamedContainerGetsTheHook() {
        DrainPolicy p = policy("web", "  containerName: app\n");
        Pod before = new PodBuilder(pod(Map.of("app", "web"))).editSpec().withTerminationGracePeriodSeconds(900L)
                .addNewContainer().withName("app").withImage("app:1").endContainer().endSpec().build();
        Pod after = PolicyPods.protect(before, p, PolicyPods.budget(p), GATE, HELPER, "shop");
        assertThat(after.getSpec().getTerminationGracePeriodSeconds()).isEqualTo(900L);
        assertThat(after.getSpec().getContainers().get(0).getLifecycle()).isNull();
        assertThat(after.getSpec().getContainers().get(1).getLifecycle().getPreStop().getExec().getCommand())
                .startsWith(DrainHelper.BINARY).containsSequence("--app", "policy.web");
    }

    @Test
    void whatCannotBeProtectedSaysWhy() {
        DrainPolicy missing = policy("web", "  containerName: nope\n");
        assertThatThrownBy(() -> PolicyPods.protect(pod(Map.of("app", "web")), missing, PolicyPods.budget(missing), GATE,
                HELPER, "shop")).isInstanceOf(InvalidSpecException.class).hasMessageContaining("no container 'nope'");
        assertThatThrownBy(() -> PolicyPods.budget(policy("a".repeat(57), "")))
                .isInstanceOf(InvalidSpecException.class).hasMessageContaining("at most 56 characters");
        assertThatThrownBy(() -> PolicyPods.budget(policy("web", "  drain: {mode: sleep}\n")))
                .isInstanceOf(InvalidSpecException.class).hasMessageContaining("drain.mode sleep");
        DrainPolicy noServices = policy("web", "");
        noServices.getSpec().setServices(List.of());
        assertThatThrownBy(() -> PolicyPods.budget(noServices)).hasMessageContaining("services must name");
        Pod twice = PolicyPods.protect(pod(Map.of("app", "web")), policy("web", ""), PolicyPods.budget(policy("web", "")),
                GATE, HELPER, "shop");
        assertThatThrownBy(() -> PolicyPods.protect(twice, policy("web", ""), PolicyPods.budget(policy("web", "")), GATE,
                HELPER, "shop")).hasMessageContaining(DrainHelper.INIT_CONTAINER);
    }
    @Test
    void aPolicysStreamPhaseWatchesEveryDeclaredPortAndLengthensTheGrace() {
        DrainPolicy p = policy("streams", "  drain:\n    streams:\n      windDownSeconds: 20\n");
        Pod pod = new PodBuilder(pod(Map.of("app", "web"))).editSpec().editFirstContainer()
                .addNewPort().withName("http").withContainerPort(8080).endPort()
                .addNewPort().withName("ws").withContainerPort(8081).endPort()
                .endContainer().endSpec().build();
        var budget = PolicyPods.budget(p);
        Pod protectedPod = PolicyPods.protect(pod, p, budget, GATE, HELPER, "shop");

        assertThat(protectedPod.getSpec().getTerminationGracePeriodSeconds())
                .isEqualTo((long) PolicyPods.budget(policy("plain", "")).terminationGracePeriodSeconds() + 20);
        List<String> command = protectedPod.getSpec().getContainers().get(0).getLifecycle().getPreStop().getExec().getCommand();
        assertThat(command.subList(command.indexOf("--streams-wait"), command.size()))
                .containsExactly("--streams-wait", "20", "--streams-ports", "8080,8081");
        // A pod that declares no port gives the phase nothing to watch: refused, never a phase that waits for nothing.
        assertThatThrownBy(() -> PolicyPods.protect(pod(Map.of("app", "web")), p, budget, GATE, HELPER, "shop"))
                .isInstanceOf(InvalidSpecException.class)
                .hasMessageContaining("declares no port to watch; set drain.streams.ports or waitForConnections: false");
    }
}
