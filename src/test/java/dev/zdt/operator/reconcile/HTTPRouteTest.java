package dev.zdt.operator.reconcile;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.time.Duration;
import java.util.Objects;

import jakarta.inject.Inject;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import dev.zdt.operator.api.v1alpha1.ZeroDowntimeApp;
import dev.zdt.operator.testing.Apps;
import dev.zdt.operator.testing.GatewayApiCrds;
import dev.zdt.operator.testing.KubeApiServerResource;
import io.fabric8.kubernetes.api.model.Condition;
import io.fabric8.kubernetes.api.model.NamespaceBuilder;
import io.fabric8.kubernetes.api.model.gatewayapi.v1.HTTPBackendRef;
import io.fabric8.kubernetes.api.model.gatewayapi.v1.HTTPRoute;
import io.fabric8.kubernetes.api.model.gatewayapi.v1.ParentReference;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.junit.QuarkusTest;

/**
 * spec.route against a real kube-apiserver: first without the Gateway API CRDs (the app says so),
 * then with the standard CRDs of sigs.k8s.io/gateway-api installed. One test, in that order, since
 * the API server (and the CRDs) are shared by every test class.
 */
@QuarkusTest
@QuarkusTestResource(value = KubeApiServerResource.class, restrictToAnnotatedClass = false)
class HTTPRouteTest {

    private static final Duration WAIT = Duration.ofSeconds(30);

    private static final String ROUTE = """
            route:
              parentRefs:
                - name: edge
                  namespace: gateways
                  sectionName: web
              hostnames: [shop.example.com]
              path: /shop
            """;

    @Inject
    KubernetesClient client;

    private String ns;

    @BeforeEach
    void namespace() {
        ns = "r-" + Long.toString(System.nanoTime(), 36);
        client.resource(new NamespaceBuilder().withNewMetadata().withName(ns).endMetadata().build()).create();
        Apps.ensureGateService(client);
    }

    @AfterEach
    void cleanUp() {
        client.namespaces().withName(ns).delete();
    }

    private void apply(String yaml) {
        ZeroDowntimeApp app = Apps.parse(yaml);
        app.getMetadata().setNamespace(ns);
        client.resource(app).forceConflicts().serverSideApply();
    }

    private HTTPRoute route(String name) {
        return client.resources(HTTPRoute.class).inNamespace(ns).withName(name).get();
    }

    private static Condition degraded(ZeroDowntimeApp app) {
        return app.getStatus().getConditions().stream().filter(c -> "Degraded".equals(c.getType())).findFirst()
                .orElse(null);
    }

    private ZeroDowntimeApp awaitDegraded(String name, String reason) {
        return await().atMost(Duration.ofSeconds(60)).until(
                () -> client.resources(ZeroDowntimeApp.class).inNamespace(ns).withName(name).get(),
                a -> a != null && a.getStatus() != null && degraded(a) != null && reason.equals(degraded(a).getReason()));
    }

    @Test
    void withoutGatewayApiTheAppSaysSoThenTheRouteIsRenderedUpdatedAndSwitchedWithTheIngress() throws Exception {
        // Without the CRDs: no HTTPRoute can exist, and the app must not look healthy about it.
        GatewayApiCrds.uninstall(client);
        await().atMost(WAIT).until(() -> !client.supports(HTTPRoute.class));
        GatewayApiPresent.forget();
        apply(Apps.yaml("shop", ROUTE));
        ZeroDowntimeApp app = awaitDegraded("shop", "GatewayApiMissing");
        assertThat(degraded(app).getStatus()).isEqualTo("True");
        assertThat(degraded(app).getMessage()).contains("spec.route is set", "gateway.networking.k8s.io/v1 httproutes",
                "install the Gateway API standard CRDs");
        assertThat(client.apps().deployments().inNamespace(ns).withName("shop").get())
                .as("the rest of the app is still rendered").isNotNull();

        // The CRDs arrive: the next reconcile renders the route and the condition clears.
        GatewayApiCrds.install(client);
        GatewayApiPresent.forget();
        apply(Apps.yaml("shop", ROUTE.replace("/shop", "/store")));
        HTTPRoute r = await().atMost(WAIT).until(() -> route("shop"), Objects::nonNull);
        assertThat(r.getSpec().getParentRefs()).singleElement().satisfies((ParentReference p) -> {
            assertThat(p.getName()).isEqualTo("edge");
            assertThat(p.getNamespace()).isEqualTo("gateways");
            assertThat(p.getSectionName()).isEqualTo("web");
            assertThat(p.getKind()).isEqualTo("Gateway");
        });
        assertThat(r.getSpec().getHostnames()).containsExactly("shop.example.com");
        assertThat(r.getSpec().getRules()).singleElement().satisfies(rule -> {
            assertThat(rule.getMatches()).singleElement().satisfies(m -> {
                assertThat(m.getPath().getType()).isEqualTo("PathPrefix");
                assertThat(m.getPath().getValue()).isEqualTo("/store");
            });
            assertThat(rule.getBackendRefs()).singleElement().satisfies((HTTPBackendRef b) -> {
                assertThat(b.getName()).isEqualTo("shop");
                assertThat(b.getKind()).isEqualTo("Service");
                assertThat(b.getPort()).isEqualTo(80);
            });
        });
        assertThat(r.getMetadata().getOwnerReferences()).singleElement().satisfies(o -> {
            assertThat(o.getKind()).isEqualTo("ZeroDowntimeApp");
            assertThat(o.getController()).isTrue();
        });
        awaitDegraded("shop", "AsExpected");

        // A change of the route reaches the HTTPRoute.
        apply(Apps.yaml("shop", ROUTE.replace("/shop", "/v2").replace("sectionName: web", "sectionName: websecure")));
        await().atMost(WAIT).until(() -> route("shop"), x -> x != null
                && "/v2".equals(x.getSpec().getRules().get(0).getMatches().get(0).getPath().getValue())
                && "websecure".equals(x.getSpec().getParentRefs().get(0).getSectionName()));

        // Switch to an Ingress: the route goes, the Ingress comes; and back.
        apply(Apps.yaml("shop", "ingress:\n  host: shop.example.com\n"));
        await().atMost(WAIT).until(() -> client.network().v1().ingresses().inNamespace(ns).withName("shop").get(),
                Objects::nonNull);
        await().atMost(WAIT).until(() -> route("shop") == null);
        apply(Apps.yaml("shop", ROUTE));
        await().atMost(WAIT).until(() -> route("shop"), Objects::nonNull);
        await().atMost(WAIT).until(() -> client.network().v1().ingresses().inNamespace(ns).withName("shop").get() == null);
    }

    @Test
    void ingressAndRouteTogetherAreRefusedByTheApiServer() {
        ZeroDowntimeApp app = Apps.parse(Apps.yaml("both", ROUTE + "ingress:\n  host: both.example.com\n"));
        app.getMetadata().setNamespace(ns);
        assertThat(org.assertj.core.api.Assertions.catchThrowable(() -> client.resource(app).serverSideApply()))
                .isInstanceOf(KubernetesClientException.class)
                .hasMessageContaining("set ingress or route, not both");
    }
}
