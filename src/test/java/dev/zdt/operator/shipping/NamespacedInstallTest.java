package dev.zdt.operator.shipping;

import static dev.zdt.operator.testing.NamespacedInstallResource.GATE_SERVICE;
import static dev.zdt.operator.testing.NamespacedInstallResource.RELEASE_NAMESPACE;
import static dev.zdt.operator.testing.NamespacedInstallResource.UNWATCHED;
import static dev.zdt.operator.testing.NamespacedInstallResource.WATCHED;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.net.URL;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import jakarta.inject.Inject;

import org.eclipse.microprofile.config.inject.ConfigProperty;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import dev.zdt.operator.api.v1alpha1.ZeroDowntimeApp;
import dev.zdt.operator.gate.DrainGate;
import dev.zdt.operator.gate.GateFixture;
import dev.zdt.operator.gate.GateFixture.Answer;
import dev.zdt.operator.testing.Apps;
import dev.zdt.operator.testing.NamespacedInstallResource;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.client.Config;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import io.quarkus.test.common.http.TestHTTPResource;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.QuarkusTestProfile;
import io.quarkus.test.junit.TestProfile;

/**
 * The operator on the chart's namespaced install (watchNamespaces team-a, team-b), against a real
 * API server, acting as the chart's ServiceAccount with only the Roles and the one ClusterRole the
 * chart renders: it starts (CRD check included), reconciles and serves the gate in the watched
 * namespaces, and leaves the others alone.
 */
@QuarkusTest
@TestProfile(NamespacedInstallTest.Profile.class)
class NamespacedInstallTest {

    public static class Profile implements QuarkusTestProfile {
        @Override
        public Map<String, String> getConfigOverrides() {
            // As the chart's Deployment sets them for a namespaced install of release "zdt".
            return Map.of("zdt.watch.namespaces", String.join(",", WATCHED),
                    "zdt.gate.namespace", RELEASE_NAMESPACE,
                    "zdt.gate.service-name", GATE_SERVICE,
                    // The CRD is established by the test resource, as helm installs it; the operator never writes it.
                    "quarkus.operator-sdk.crd.apply", "false");
        }

        @Override
        public List<TestResourceEntry> testResources() {
            return List.of(new TestResourceEntry(NamespacedInstallResource.class));
        }

        @Override
        public boolean disableGlobalTestResources() {
            return true;
        }
    }

    private static final Duration WAIT = Duration.ofSeconds(30);
    /** verify: endpoints, propagation 1 s (provider generic). */
    private static final String ENDPOINTS = """
            provider: generic
            propagationSeconds: 1
            verify: endpoints
            """;

    /** The operator's own client: the ServiceAccount. */
    @Inject
    KubernetesClient operatorClient;

    @Inject
    DrainGate gate;

    @TestHTTPResource("/")
    URL base;

    @TestHTTPResource(value = "/", management = true)
    URL management;

    @ConfigProperty(name = "zdt.test.admin-kubeconfig")
    String adminKubeconfig;

    private KubernetesClient admin;

    @BeforeEach
    void admin() throws Exception {
        admin = new KubernetesClientBuilder().withConfig(Config.fromKubeconfig(Files.readString(Path.of(adminKubeconfig))))
                .build();
    }

    @AfterEach
    void closeAdmin() {
        admin.close();
    }

    private ZeroDowntimeApp apply(String namespace, String yaml) {
        ZeroDowntimeApp app = Apps.parse(yaml);
        app.getMetadata().setNamespace(namespace);
        return admin.resource(app).serverSideApply();
    }

    @Test
    void theOperatorActsAsTheChartsServiceAccountWithNamespaceRolesOnly() {
        // Without a ClusterRole for them, nothing cluster-wide: the informers must be per namespace.
        assertThat(can("list", "pods", null)).isFalse();
        assertThat(can("list", "pods", WATCHED.get(0))).isTrue();
        assertThat(can("list", "pods", UNWATCHED)).isFalse();
        assertThat(can("list", "zerodowntimeapps", null)).isFalse();
        assertThat(can("list", "customresourcedefinitions", null)).isFalse();
        // The pods' owners, for a DrainPolicy's minReadySeconds report: get only, watched namespaces only.
        for (String owners : List.of("replicasets", "statefulsets", "daemonsets")) {
            assertThat(can("get", owners, WATCHED.get(0))).as("get %s", owners).isTrue();
            assertThat(can("list", owners, WATCHED.get(0))).as("list %s", owners).isFalse();
            assertThat(can("get", owners, UNWATCHED)).as("get %s in %s", owners, UNWATCHED).isFalse();
        }
    }

    @Test
    void aDrainPolicyReadsItsPodsOwnerThroughTheNamespacesRole() {
        String ns = WATCHED.get(1);
        var sts = admin.resource(new io.fabric8.kubernetes.api.model.apps.StatefulSetBuilder().withNewMetadata()
                .withName("owned").withNamespace(ns).endMetadata().withNewSpec().withMinReadySeconds(7)
                .withServiceName("owned").withNewSelector().addToMatchLabels("app", "owned").endSelector()
                .withNewTemplate().withNewMetadata().addToLabels("app", "owned").endMetadata().withNewSpec()
                .addNewContainer().withName("web").withImage("registry.example/web:1").endContainer().endSpec()
                .endTemplate().endSpec().build()).create();
        admin.resource(new io.fabric8.kubernetes.api.model.PodBuilder().withNewMetadata().withName("owned-0")
                .withNamespace(ns).addToLabels("app", "owned").addNewOwnerReference().withApiVersion("apps/v1")
                .withKind("StatefulSet").withName("owned").withUid(sts.getMetadata().getUid()).withController(true)
                .endOwnerReference().endMetadata().withNewSpec().addNewContainer().withName("web")
                .withImage("registry.example/web:1").endContainer().endSpec().build()).create();
        var policy = io.fabric8.kubernetes.client.utils.Serialization.unmarshal("""
                apiVersion: zdt.dev/v1alpha1
                kind: DrainPolicy
                metadata:
                  name: owned
                spec:
                  selector:
                    matchLabels:
                      app: owned
                  services: [owned]
                  traffic:
                    provider: traefik
                """, dev.zdt.operator.api.v1alpha1.DrainPolicy.class);
        policy.getMetadata().setNamespace(ns);
        admin.resource(policy).create();

        // Without get on statefulsets in the namespace's Role, the owner would be listed with a 403 note instead.
        var status = await().atMost(WAIT).until(() -> admin.resources(dev.zdt.operator.api.v1alpha1.DrainPolicy.class)
                .inNamespace(ns).withName("owned").get().getStatus(), st -> st != null && st.getOwners() != null);
        assertThat(status.getOwners()).singleElement().satisfies(o -> {
            assertThat(o.getKind()).isEqualTo("StatefulSet");
            assertThat(o.getNote()).isNull();
            assertThat(o.getMinReadySeconds()).isEqualTo(7);
        });
    }

    @Test
    void aScraperBoundToTheChartsMetricsReaderReadsTheMetricsThroughTheChartsRbacOnly() throws Exception {
        // The operator asks the API server who scrapes and whether it may: both reviews, which the chart grants.
        for (String[] review : List.of(new String[] { "authentication.k8s.io", "tokenreviews" },
                new String[] { "authorization.k8s.io", "subjectaccessreviews" })) {
            var can = new io.fabric8.kubernetes.api.model.authorization.v1.SelfSubjectAccessReviewBuilder().withNewSpec()
                    .withNewResourceAttributes().withVerb("create").withGroup(review[0]).withResource(review[1])
                    .endResourceAttributes().endSpec().build();
            assertThat(operatorClient.authorization().v1().selfSubjectAccessReview().create(can).getStatus().getAllowed())
                    .as("create %s", review[1]).isTrue();
        }
        String reader = dev.zdt.operator.testing.MetricsReader.tokenOf(admin, RELEASE_NAMESPACE, "prometheus");
        String stranger = dev.zdt.operator.testing.MetricsReader.tokenOf(admin, RELEASE_NAMESPACE, "stranger");
        admin.resource(new io.fabric8.kubernetes.api.model.rbac.ClusterRoleBindingBuilder().withNewMetadata()
                .withName("prometheus-reads-zdt").endMetadata().withNewRoleRef().withApiGroup("rbac.authorization.k8s.io")
                .withKind("ClusterRole").withName("zdt-zdt-operator-metrics-reader").endRoleRef().addNewSubject()
                .withKind("ServiceAccount").withName("prometheus").withNamespace(RELEASE_NAMESPACE).endSubject().build())
                .create();
        java.net.http.HttpClient http = java.net.http.HttpClient.newHttpClient();
        java.util.function.Function<String, java.net.http.HttpResponse<String>> scrape = token -> {
            try {
                var request = java.net.http.HttpRequest.newBuilder(management.toURI().resolve("/q/metrics"));
                if (token != null) {
                    request.header("Authorization", "Bearer " + token);
                }
                return http.send(request.build(), java.net.http.HttpResponse.BodyHandlers.ofString());
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        };
        // (a refusal while the new binding reaches the API server's authorizer is remembered for a few seconds)
        var allowed = await().atMost(WAIT).pollInterval(Duration.ofSeconds(1)).until(() -> scrape.apply(reader),
                r -> r.statusCode() == 200);
        assertThat(allowed.body()).contains("zdt_gate_holds_in_flight");
        assertThat(scrape.apply(null).statusCode()).isEqualTo(401);
        assertThat(await().atMost(WAIT).pollInterval(Duration.ofSeconds(1)).until(() -> scrape.apply(stranger),
                r -> r.statusCode() != 429).statusCode()).isEqualTo(403);
    }

    private boolean can(String verb, String resource, String namespace) {
        var review = new io.fabric8.kubernetes.api.model.authorization.v1.SelfSubjectAccessReviewBuilder()
                .withNewSpec().withNewResourceAttributes().withVerb(verb).withResource(resource)
                .withGroup(switch (resource) {
                    case "zerodowntimeapps" -> "zdt.dev";
                    case "customresourcedefinitions" -> "apiextensions.k8s.io";
                    case "replicasets", "statefulsets", "daemonsets" -> "apps";
                    default -> "";
                }).withNamespace(namespace)
                .endResourceAttributes().endSpec().build();
        return operatorClient.authorization().v1().selfSubjectAccessReview().create(review).getStatus().getAllowed();
    }

    @Test
    void reconcilesAppsInTheWatchedNamespacesAndLeavesTheOthersAlone() {
        apply(UNWATCHED, Apps.yaml("web", ""));
        for (String ns : WATCHED) {
            apply(ns, Apps.yaml("web", ""));
        }
        for (String ns : WATCHED) {
            // The Deployment names the gate Service's ClusterIP: read through the release namespace's Role.
            await().atMost(WAIT).until(() -> admin.apps().deployments().inNamespace(ns).withName("web").get(),
                    d -> d != null);
            await().atMost(WAIT).until(() -> admin.resources(ZeroDowntimeApp.class).inNamespace(ns).withName("web").get(),
                    a -> a.getStatus() != null && a.getStatus().getConditions() != null
                            && !a.getStatus().getConditions().isEmpty());
            assertThat(admin.services().inNamespace(ns).withName("web").get()).isNotNull();
            assertThat(admin.policy().v1().podDisruptionBudget().inNamespace(ns).withName("web").get()).isNotNull();
        }
        assertThat(admin.apps().deployments().inNamespace(UNWATCHED).withName("web").get()).isNull();
        var ignored = admin.resources(ZeroDowntimeApp.class).inNamespace(UNWATCHED).withName("web").get().getStatus();
        // (an unwritten status reads as the model's empty defaults)
        assertThat(ignored == null ? null : ignored.getConditions()).as("conditions of %s/web", UNWATCHED).isNullOrEmpty();
        assertThat(ignored == null ? null : ignored.getDrainBudget()).as("drain budget of %s/web", UNWATCHED).isNull();

        // Events on an app, in its namespace, through the namespace's Role.
        apply(WATCHED.get(0), Apps.yaml("ports", "port: web"));
        await().atMost(WAIT).until(() -> admin.events().v1().events().inNamespace(WATCHED.get(0)).list().getItems()
                .stream().anyMatch(e -> "InvalidSpec".equals(e.getReason())
                        && "ports".equals(e.getRegarding().getName())));
    }

    @Test
    void theGateHoldsPodsOfEveryWatchedNamespaceAndKnowsNoAppElsewhere() throws Exception {
        await().atMost(WAIT).until(gate::synced);
        GateFixture watched = new GateFixture(admin, base.toURI(), WATCHED.get(1));
        GateFixture other = new GateFixture(admin, base.toURI(), UNWATCHED);
        try {
            watched.app("shop", ENDPOINTS, "");
            Pod a = watched.pod("shop", "shop-a", 8);
            Pod b = watched.pod("shop", "shop-b", 8);
            watched.slice("shop", GateFixture.ready(a), GateFixture.ready(b));
            watched.terminate(a);
            CompletableFuture<Answer> call = watched.callApp("shop");
            await().atMost(Duration.ofSeconds(10)).until(() -> gate.held() == 1);
            watched.slice("shop", GateFixture.terminating(a), GateFixture.ready(b));
            Answer answer = call.get(10, TimeUnit.SECONDS);
            assertThat(answer.status()).isEqualTo(200);
            assertThat(answer.body()).startsWith("Verified");

            other.app("shop", ENDPOINTS, "");
            Pod c = other.pod("shop", "shop-c", 8);
            other.terminate(c);
            Answer elsewhere = other.callApp("shop").get(10, TimeUnit.SECONDS);
            assertThat(elsewhere.status()).isEqualTo(404);
            assertThat(elsewhere.body()).contains("no ZeroDowntimeApp " + UNWATCHED + "/shop");
        } finally {
            watched.close(false);
            other.close(false);
        }
    }

    @Test
    void theAdmissionPolicyChecksRequestersInTheWatchedNamespacesOnly() {
        for (String ns : List.of(WATCHED.get(0), UNWATCHED)) {
            admin.resource(new io.fabric8.kubernetes.api.model.rbac.RoleBuilder().withNewMetadata().withName("apps-only")
                    .withNamespace(ns).endMetadata().addNewRule().withApiGroups("zdt.dev").withResources("zerodowntimeapps")
                    .withVerbs("create", "get", "delete").endRule().build()).create();
            admin.resource(new io.fabric8.kubernetes.api.model.rbac.RoleBindingBuilder().withNewMetadata()
                    .withName("apps-only").withNamespace(ns).endMetadata().withNewRoleRef()
                    .withApiGroup("rbac.authorization.k8s.io").withKind("Role").withName("apps-only").endRoleRef()
                    .addNewSubject().withApiGroup("rbac.authorization.k8s.io").withKind("User").withName("erin").endSubject()
                    .build()).create();
        }
        try (KubernetesClient erin = new KubernetesClientBuilder().withConfig(new io.fabric8.kubernetes.client.ConfigBuilder(
                admin.getConfiguration()).withImpersonateUsername("erin").build()).build()) {
            ZeroDowntimeApp inWatched = Apps.parse(Apps.yaml("erins", ""));
            inWatched.getMetadata().setNamespace(WATCHED.get(0));
            // Active a moment after it is created: until erin is refused once.
            String refusal = await().atMost(WAIT).until(() -> {
                try {
                    erin.resource(inWatched).create();
                    admin.resource(inWatched).delete();
                    await().atMost(WAIT).until(() -> admin.resource(inWatched).get() == null);
                    return null;
                } catch (io.fabric8.kubernetes.client.KubernetesClientException e) {
                    return e.getMessage();
                }
            }, m -> m != null);
            assertThat(refusal).contains("erin may not create deployments.apps in namespace " + WATCHED.get(0));

            // Nothing acts on apps outside the watched namespaces: the binding leaves them alone.
            ZeroDowntimeApp elsewhere = Apps.parse(Apps.yaml("erins", ""));
            elsewhere.getMetadata().setNamespace(UNWATCHED);
            assertThat(erin.resource(elsewhere).create().getMetadata().getUid()).isNotBlank();
        }
    }
}
