package dev.zdt.operator.reconcile;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import java.time.Duration;
import java.util.Map;

import jakarta.inject.Inject;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import dev.zdt.operator.api.v1alpha1.ZeroDowntimeApp;
import dev.zdt.operator.testing.Apps;
import dev.zdt.operator.testing.KubeApiServerResource;
import io.fabric8.kubernetes.api.model.NamespaceBuilder;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodBuilder;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.junit.QuarkusTest;

/**
 * The pods the operator renders, judged by the API server's own Pod Security admission in
 * namespaces that enforce baseline and restricted (as hardened clusters label them). The pods are
 * created as the ReplicaSet controller would create them, with a server-side dry run.
 */
@QuarkusTest
@QuarkusTestResource(value = KubeApiServerResource.class, restrictToAnnotatedClass = false)
class PodSecurityTest {

    /** A template that itself meets restricted: gate mode must not be what breaks it. */
    private static final String RESTRICTED_TEMPLATE = """
            securityContext:
              runAsNonRoot: true
              runAsUser: 10001
              seccompProfile:
                type: RuntimeDefault
            """.indent(6) + Apps.podSpec(Apps.WEB_CONTAINER + """
              securityContext:
                allowPrivilegeEscalation: false
                capabilities:
                  drop: ["ALL"]
            """);

    @Inject
    KubernetesClient client;

    private String ns;

    private void namespace(String level) {
        ns = "psa-" + level + "-" + Long.toString(System.nanoTime(), 36);
        client.resource(new NamespaceBuilder().withNewMetadata().withName(ns)
                .withLabels(Map.of("pod-security.kubernetes.io/enforce", level,
                        "pod-security.kubernetes.io/enforce-version", "latest"))
                .endMetadata().build()).create();
        Apps.ensureGateService(client);
    }

    @AfterEach
    void cleanUp() {
        client.namespaces().withName(ns).delete();
    }

    private Deployment rendered(String name, String mode) {
        String yaml = Apps.withPodSpec(Apps.yaml(name, "provider: traefik\nthrottleSeconds: 2", "drain:\n  mode: " + mode),
                RESTRICTED_TEMPLATE.indent(4));
        ZeroDowntimeApp app = Apps.parse(yaml);
        app.getMetadata().setNamespace(ns);
        client.resource(app).serverSideApply();
        return await().atMost(Duration.ofSeconds(30))
                .until(() -> client.apps().deployments().inNamespace(ns).withName(name).get(), d -> d != null);
    }

    /** What the ReplicaSet controller sends for one pod of the Deployment, dry run. */
    private Pod createPodOf(Deployment d) {
        var template = d.getSpec().getTemplate();
        Pod pod = new PodBuilder().withNewMetadata().withGenerateName(d.getMetadata().getName() + "-")
                .withNamespace(ns).withLabels(template.getMetadata().getLabels())
                .withAnnotations(template.getMetadata().getAnnotations()).endMetadata()
                .withSpec(template.getSpec()).build();
        return client.pods().inNamespace(ns).resource(pod).dryRun().create();
    }

    @Test
    void gateModePodsAreAdmittedWhereRestrictedIsEnforced() {
        namespace("restricted");
        Pod admitted = createPodOf(rendered("shop", "gate"));
        assertThat(admitted.getSpec().getInitContainers()).extracting(c -> c.getName()).containsExactly("zdt-drain-install");
        assertThat(admitted.getSpec().getContainers().get(0).getLifecycle().getPreStop().getExec()).isNotNull();
    }

    @Test
    void gateModePodsAreAdmittedWhereBaselineIsEnforced() {
        namespace("baseline");
        assertThat(createPodOf(rendered("shop", "gate")).getSpec().getInitContainers()).hasSize(1);
    }

    @Test
    void theOptInHttpGetModeIsRefusedByBaselineForItsHost() {
        namespace("baseline");
        Deployment d = rendered("legacy", "httpGet");
        assertThatThrownBy(() -> createPodOf(d)).isInstanceOf(KubernetesClientException.class)
                .hasMessageContaining("violates PodSecurity \"baseline:latest\"")
                .hasMessageContaining("host");
    }

    @Test
    void sleepAndExecModePodsAreAdmittedWhereRestrictedIsEnforced() {
        namespace("restricted");
        assertThat(createPodOf(rendered("napper", "sleep")).getSpec().getContainers().get(0).getLifecycle()
                .getPreStop().getSleep()).isNotNull();
        assertThat(createPodOf(rendered("shell", "exec")).getSpec().getContainers().get(0).getLifecycle()
                .getPreStop().getExec()).isNotNull();
    }
}
