package dev.zdt.operator.policy;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.function.Predicate;

import jakarta.inject.Inject;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import dev.zdt.operator.testing.Apps;
import dev.zdt.operator.Constants;
import dev.zdt.operator.api.v1alpha1.DrainPolicy;
import dev.zdt.operator.api.v1alpha1.PodOwnerStatus;
import dev.zdt.operator.pod.DrainHelper;
import dev.zdt.operator.testing.KubeApiServerResource;
import io.fabric8.kubernetes.api.model.Condition;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.LabelSelectorBuilder;
import io.fabric8.kubernetes.api.model.NamespaceBuilder;
import io.fabric8.kubernetes.api.model.OwnerReferenceBuilder;
import io.fabric8.kubernetes.api.model.PodBuilder;
import io.fabric8.kubernetes.api.model.PodTemplateSpec;
import io.fabric8.kubernetes.api.model.PodTemplateSpecBuilder;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.api.model.apps.DeploymentBuilder;
import io.fabric8.kubernetes.api.model.apps.ReplicaSet;
import io.fabric8.kubernetes.api.model.apps.ReplicaSetBuilder;
import io.fabric8.kubernetes.api.model.apps.StatefulSet;
import io.fabric8.kubernetes.api.model.apps.StatefulSetBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.junit.QuarkusTest;

/**
 * A DrainPolicy's status names the workloads owning its pods and says whether each has the
 * minReadySeconds the derived budget needs. No controller-manager runs: owners and pods are created
 * directly, linked by ownerReferences as the controllers would link them. The pods are created with
 * the drain already in them, so only the owners decide Ready.
 */
@QuarkusTest
@QuarkusTestResource(value = KubeApiServerResource.class, restrictToAnnotatedClass = false)
class PolicyOwnersTest {

    private static final Duration WAIT = Duration.ofSeconds(30);
    /** health-probe every 5 s, healthy after 2 checks: a new pod must stay ready 10 s (DrainBudgetTest). */
    private static final String PROBED = """
            traffic:
              provider: health-probe
              probe: {intervalSeconds: 5, timeoutSeconds: 4, unhealthyThreshold: 3, healthyThreshold: 2}
            """;
    private static final String TRAEFIK = """
            traffic:
              provider: traefik
            """;

    @Inject
    KubernetesClient client;

    private String ns;

    @BeforeEach
    void namespace() {
        ns = "o-" + Long.toString(System.nanoTime(), 36);
        client.resource(new NamespaceBuilder().withNewMetadata().withName(ns)
                .withLabels(Map.of(Constants.DRAIN_POLICY_LABEL, Constants.DRAIN_POLICY_ENABLED)).endMetadata().build())
                .create();
    }

    @AfterEach
    void cleanUp() {
        client.namespaces().withName(ns).delete();
    }

    @Test
    void aDeploymentBelowTheNeededMinReadySecondsIsNamedWithThePatchUntilItIsRaised() {
        Deployment deployment = deployment("web", 0);
        ReplicaSet rs = replicaSetOf(deployment, "web-7c9d");
        pod("web-7c9d-aaaaa", rs);
        pod("web-7c9d-bbbbb", rs);
        policy(PROBED);

        DrainPolicy p = await(x -> x.getStatus().getOwners() != null);
        assertThat(p.getStatus().getDrainBudget().getMinReadySeconds()).isEqualTo(10);
        assertThat(p.getStatus().getOwnerCount()).isEqualTo(1);
        PodOwnerStatus owner = p.getStatus().getOwners().get(0);
        assertThat(owner.getKind()).as("the Deployment, not its ReplicaSet").isEqualTo("Deployment");
        assertThat(owner.getName()).isEqualTo("web");
        assertThat(owner.getPods()).isEqualTo(2);
        assertThat(owner.getMinReadySeconds()).isZero();
        assertThat(owner.getNeededMinReadySeconds()).isEqualTo(10);
        assertThat(owner.getSufficient()).isFalse();
        assertThat(ready(p).getStatus()).isEqualTo("False");
        assertThat(ready(p).getReason()).isEqualTo("OwnerMinReadySecondsTooLow");
        assertThat(ready(p).getMessage()).contains("Deployment web has minReadySeconds 0")
                .contains("kubectl -n " + ns + " patch deployment web --type merge -p '{\"spec\":{\"minReadySeconds\":10}}'");

        client.apps().deployments().inNamespace(ns).withName("web").edit(d -> {
            d.getSpec().setMinReadySeconds(10);
            return d;
        });

        p = await(x -> x.getStatus().getOwners() != null && Boolean.TRUE.equals(x.getStatus().getOwners().get(0).getSufficient()));
        assertThat(p.getStatus().getOwners().get(0).getMinReadySeconds()).isEqualTo(10);
        assertThat(ready(p).getStatus()).isEqualTo("True");
        assertThat(ready(p).getReason()).isEqualTo("AllPodsProtected");
        assertThat(ready(p).getMessage()).contains("minReadySeconds >= 10").contains("every owner has it");
    }

    @Test
    void aStatefulSetIsReadAndAPodWithoutControllerIsUnknownNotAFailure() {
        StatefulSet sts = client.resource(new StatefulSetBuilder().withNewMetadata().withName("db").withNamespace(ns)
                .endMetadata().withNewSpec().withMinReadySeconds(12).withServiceName("db")
                .withSelector(new LabelSelectorBuilder().withMatchLabels(Map.of("app", "web")).build())
                .withTemplate(template()).endSpec().build()).create();
        pod("db-0", sts);
        pod("loner", null);
        policy(PROBED);

        DrainPolicy p = await(x -> x.getStatus().getOwners() != null && x.getStatus().getOwners().size() == 2);
        List<PodOwnerStatus> owners = p.getStatus().getOwners();
        // Unknown before enough.
        assertThat(owners.get(0).getKind()).isEqualTo("Pod");
        assertThat(owners.get(0).getName()).isEqualTo("loner");
        assertThat(owners.get(0).getMinReadySeconds()).isNull();
        assertThat(owners.get(0).getSufficient()).isNull();
        assertThat(owners.get(0).getNote()).contains("no controller");
        assertThat(owners.get(1).getKind()).isEqualTo("StatefulSet");
        assertThat(owners.get(1).getName()).isEqualTo("db");
        assertThat(owners.get(1).getMinReadySeconds()).isEqualTo(12);
        assertThat(owners.get(1).getSufficient()).isTrue();
        assertThat(ready(p).getReason()).isEqualTo("AllPodsProtected");
        assertThat(ready(p).getMessage()).contains("not checked for Pod loner");
    }

    @Test
    void withNothingNeededEveryOwnerIsSufficientAndAMissingOneIsUnknown() {
        Deployment deployment = deployment("web", 0);
        ReplicaSet rs = replicaSetOf(deployment, "web-1a2b");
        pod("web-1a2b-aaaaa", rs);
        // A StatefulSet that is gone (no garbage collector runs here to take its pod with it).
        StatefulSet ghost = new StatefulSetBuilder().withNewMetadata().withName("ghost").withNamespace(ns)
                .withUid("00000000-0000-0000-0000-000000000001").endMetadata().build();
        pod("ghost-0", ghost);
        policy(TRAEFIK);

        DrainPolicy p = await(x -> x.getStatus().getOwners() != null && x.getStatus().getOwners().size() == 2);
        assertThat(p.getStatus().getDrainBudget().getMinReadySeconds()).isZero();
        assertThat(p.getStatus().getOwners()).extracting(PodOwnerStatus::getKind, PodOwnerStatus::getName,
                PodOwnerStatus::getSufficient, PodOwnerStatus::getNeededMinReadySeconds).containsExactly(
                        org.assertj.core.groups.Tuple.tuple("Deployment", "web", true, 0),
                        org.assertj.core.groups.Tuple.tuple("StatefulSet", "ghost", true, 0));
        assertThat(p.getStatus().getOwners().get(1).getNote()).isEqualTo("not found");
        assertThat(p.getStatus().getOwners().get(1).getMinReadySeconds()).isNull();
        assertThat(ready(p).getReason()).isEqualTo("AllPodsProtected");
    }

    private Deployment deployment(String name, int minReadySeconds) {
        return client.resource(new DeploymentBuilder().withNewMetadata().withName(name).withNamespace(ns).endMetadata()
                .withNewSpec().withMinReadySeconds(minReadySeconds)
                .withSelector(new LabelSelectorBuilder().withMatchLabels(Map.of("app", "web")).build())
                .withTemplate(template()).endSpec().build()).create();
    }

    /** What the Deployment controller would make: a ReplicaSet it controls. */
    private ReplicaSet replicaSetOf(Deployment deployment, String name) {
        return client.resource(new ReplicaSetBuilder().withNewMetadata().withName(name).withNamespace(ns)
                .withOwnerReferences(new OwnerReferenceBuilder().withApiVersion("apps/v1").withKind("Deployment")
                        .withName(deployment.getMetadata().getName()).withUid(deployment.getMetadata().getUid())
                        .withController(true).build())
                .endMetadata().withNewSpec().withSelector(deployment.getSpec().getSelector())
                .withTemplate(template()).endSpec().build()).create();
    }

    private static PodTemplateSpec template() {
        return new PodTemplateSpecBuilder().withNewMetadata().withLabels(Map.of("app", "web")).endMetadata()
                .withNewSpec().addNewContainer().withName("web").withImage("registry.example/web:1").endContainer()
                .endSpec().build();
    }

    /** A pod as the webhook leaves it (label and the helper's init container), owned by owner (none when null). */
    private void pod(String name, HasMetadata owner) {
        PodBuilder pod = new PodBuilder().withNewMetadata().withName(name).withNamespace(ns)
                .withLabels(Map.of("app", "web", Constants.APP_LABEL, Constants.policyAppName("web"))).endMetadata()
                .withNewSpec().addNewInitContainer().withName(DrainHelper.INIT_CONTAINER).withImage("registry.example/h:1")
                .endInitContainer().addNewContainer().withName("web").withImage("registry.example/web:1").endContainer()
                .endSpec();
        if (owner != null) {
            pod.editMetadata().withOwnerReferences(new OwnerReferenceBuilder().withApiVersion("apps/v1")
                    .withKind(owner.getKind()).withName(owner.getMetadata().getName()).withUid(owner.getMetadata().getUid())
                    .withController(true).build()).endMetadata();
        }
        client.resource(pod.build()).create();
    }

    private void policy(String traffic) {
        client.resource(Apps.webPolicy(ns, traffic)).create();
    }

    private DrainPolicy await(Predicate<DrainPolicy> condition) {
        return org.awaitility.Awaitility.await().atMost(WAIT).until(
                () -> client.resources(DrainPolicy.class).inNamespace(ns).withName("web").get(),
                p -> p != null && p.getStatus() != null && ready(p) != null && condition.test(p));
    }

    private static Condition ready(DrainPolicy p) {
        return p.getStatus().getConditions() == null ? null
                : p.getStatus().getConditions().stream().filter(c -> "Ready".equals(c.getType())).findFirst().orElse(null);
    }
}
