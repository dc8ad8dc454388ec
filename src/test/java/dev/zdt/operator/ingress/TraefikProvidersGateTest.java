package dev.zdt.operator.ingress;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import dev.zdt.operator.gate.GateFixture;
import dev.zdt.operator.gate.GateFixture.Answer;
import dev.zdt.operator.gate.GateTestBase;
import dev.zdt.operator.reconcile.GatewayApiPresent;
import dev.zdt.operator.testing.GatewayApiCrds;
import dev.zdt.operator.testing.KubeApiServerResource;
import dev.zdt.operator.testing.ModuleCrds;
import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.ServiceBuilder;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointSliceBuilder;
import io.fabric8.kubernetes.api.model.gatewayapi.v1.HTTPRoute;
import io.fabric8.kubernetes.client.utils.Serialization;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.junit.QuarkusTest;

/**
 * verify: ingress through Traefik's other Kubernetes providers, with a real Traefik watching the
 * test's API server: an app routed by the HTTPRoute the operator renders (spec.route, Traefik's
 * Gateway API provider, services named {@code ...@kubernetesgateway}) and one routed by an
 * IngressRoute the user wrote (Traefik's CRD provider, {@code ...@kubernetescrd}). In both, the
 * pod is held until Traefik stops listing its address, and never released while it still does.
 * The CRDs are the real ones: Gateway API v1.4.0's standard channel and Traefik's own, from the
 * Go modules the harness builds Traefik from.
 */
@QuarkusTest
@QuarkusTestResource(value = KubeApiServerResource.class, restrictToAnnotatedClass = false)
class TraefikProvidersGateTest extends GateTestBase {

    private static final String TRAFFIC = """
            provider: traefik
            throttleSeconds: 2
            watchSeconds: 0
            verify: ingress
            controller: {namespace: %s, service: traefik, port: api}
            """;

    private TraefikProcess traefik;

    @BeforeEach
    void crdsAndTraefik() throws Exception {
        GatewayApiCrds.install(client);
        Path traefikModule = ModuleCrds.directory("github.com/traefik/traefik/v3@" + TraefikProcess.version());
        ModuleCrds.install(client, List.of(traefikModule.resolve(
                Path.of("docs", "content", "reference", "dynamic-configuration", "kubernetes-crd-definition-v1.yml"))));
        GatewayApiPresent.forget();
        traefik = TraefikProcess.startWithCrdAndGatewayProviders(Duration.ofSeconds(2));
        // The controller's Service as the harness writes it for a host process: no selector, a hand-written slice.
        client.resource(new ServiceBuilder().withNewMetadata().withName("traefik").withNamespace(f.ns).endMetadata()
                .withNewSpec().addNewPort().withName("api").withPort(9000).withNewTargetPort(9000).endPort().endSpec()
                .build()).serverSideApply();
        client.resource(new EndpointSliceBuilder().withNewMetadata().withName("traefik-1").withNamespace(f.ns)
                .addToLabels("kubernetes.io/service-name", "traefik").endMetadata()
                .withAddressType("IPv4")
                .addNewPort().withName("api").withPort(traefik.apiPort).withProtocol("TCP").endPort()
                .addNewEndpoint().withAddresses(traefik.host).withNewConditions().withReady(true).endConditions().endEndpoint()
                .build()).serverSideApply();
    }

    /** Runs before the base's clean-up: no hold left while Traefik still runs, then Traefik stops. */
    @AfterEach
    void stopTraefik() throws Exception {
        await().atMost(Duration.ofSeconds(30)).until(() -> gate.held() == 0);
        if (traefik != null) {
            traefik.close();
        }
    }

    private static String ip(Pod p) {
        return p.getStatus().getPodIP();
    }

    private void apply(String yaml) {
        client.resource(Serialization.unmarshal(yaml.formatted(f.ns), GenericKubernetesResource.class)).serverSideApply();
    }

    @Test
    void aPodRoutedThroughTheRenderedHTTPRouteIsHeldUntilTraefikDropsIt() throws Exception {
        apply("""
                apiVersion: gateway.networking.k8s.io/v1
                kind: GatewayClass
                metadata: {name: traefik}
                spec: {controllerName: traefik.io/gateway-controller}
                """);
        // A listener on the port of Traefik's "web" entrypoint: that is how Traefik maps it.
        apply("""
                apiVersion: gateway.networking.k8s.io/v1
                kind: Gateway
                metadata: {name: edge, namespace: %s}
                spec:
                  gatewayClassName: traefik
                  listeners:
                    - {name: web, protocol: HTTP, port: PORT}
                """.replace("PORT", Integer.toString(traefik.webPort)));
        f.app("shop", TRAFFIC.formatted(f.ns), """
                route:
                  parentRefs: [{name: edge, sectionName: web}]
                  hostnames: [shop.example.com]
                drain:
                  holdSeconds: 12
                """);
        await().atMost(Duration.ofSeconds(30))
                .until(() -> client.resources(HTTPRoute.class).inNamespace(f.ns).withName("shop").get(), Objects::nonNull);
        drainsOnlyOnceTraefikDropsThePod("@kubernetesgateway");
    }

    @Test
    void aPodRoutedThroughAnIngressRouteIsHeldUntilTraefikDropsIt() throws Exception {
        f.app("shop", TRAFFIC.formatted(f.ns), "drain:\n  holdSeconds: 12\n");
        await().atMost(Duration.ofSeconds(30)).until(() -> client.services().inNamespace(f.ns).withName("shop").get() != null);
        apply("""
                apiVersion: traefik.io/v1alpha1
                kind: IngressRoute
                metadata: {name: shop, namespace: %s}
                spec:
                  entryPoints: [web]
                  routes:
                    - match: Host(`shop.example.com`)
                      kind: Rule
                      services: [{name: shop, port: 80}]
                """);
        drainsOnlyOnceTraefikDropsThePod("@kubernetescrd");
    }

    /**
     * Two pods routed under the provider's names; shop-a terminates, its preStop call is held, a
     * third pod is added first so that Traefik's throttle delays shop-a's removal; the call must
     * come back Verified, and only after the last moment Traefik still listed shop-a.
     */
    private void drainsOnlyOnceTraefikDropsThePod(String provider) throws Exception {
        Pod a = f.pod("shop", "shop-a", 12);
        Pod b = f.pod("shop", "shop-b", 12);
        f.slice("shop", GateFixture.ready(a), GateFixture.ready(b));
        await().atMost(Duration.ofSeconds(30)).until(() -> traefik.servicesRoutingTo(ip(a)),
                s -> !s.isEmpty() && s.stream().allMatch(n -> n.endsWith(provider)));
        await().atMost(Duration.ofSeconds(10)).until(() -> !traefik.servicesRoutingTo(ip(b)).isEmpty());
        Set<String> names = traefik.servicesRoutingTo(ip(a));
        // What Traefik answers here, kept for TraefikVerifierTest's fixtures (target/recorded/).
        Path recorded = Path.of("target", "recorded", "http-services-" + provider.substring(1) + ".json");
        java.nio.file.Files.createDirectories(recorded.getParent());
        java.nio.file.Files.writeString(recorded, traefik.rawServices());

        f.terminate(a);
        CompletableFuture<Answer> call = f.callApp("shop");
        await().atMost(Duration.ofSeconds(5)).until(() -> gate.held() == 1);
        Pod c = f.pod("shop", "shop-c", 12);
        f.slice("shop", GateFixture.ready(a), GateFixture.ready(b), GateFixture.ready(c));
        await().atMost(Duration.ofSeconds(30)).until(() -> !traefik.servicesRoutingTo(ip(c)).isEmpty());
        long removed = System.nanoTime();
        f.slice("shop", GateFixture.terminating(a), GateFixture.ready(b), GateFixture.ready(c));

        List<Long> listedAt = new CopyOnWriteArrayList<>();
        AtomicBoolean watching = new AtomicBoolean(true);
        Thread lister = new Thread(() -> {
            while (watching.get()) {
                try {
                    long now = System.nanoTime();
                    if (!traefik.servicesRoutingTo(ip(a)).isEmpty()) {
                        listedAt.add(now);
                    }
                    Thread.sleep(25);
                } catch (Exception e) {
                    return;
                }
            }
        });
        lister.start();
        Answer answer;
        try {
            answer = call.get(15, TimeUnit.SECONDS);
        } finally {
            watching.set(false);
            lister.join();
        }

        assertThat(answer.status()).isEqualTo(200);
        assertThat(answer.body()).as("through " + names).startsWith("Verified")
                .contains("shop-a (" + ip(a) + ") no longer routed to by Traefik");
        assertThat(listedAt).as("Traefik listed shop-a after the slice dropped it (under %s)", names).isNotEmpty();
        long lastListed = listedAt.get(listedAt.size() - 1);
        assertThat(lastListed - removed).as("the window the gate had to wait out")
                .isGreaterThan(TimeUnit.MILLISECONDS.toNanos(300));
        assertThat(answer.receivedNanos()).as("released only after Traefik's last listing").isGreaterThan(lastListed);
        assertThat(traefik.servicesRoutingTo(ip(a))).isEmpty();
        assertThat(traefik.servicesRoutingTo(ip(b))).isNotEmpty();
    }
}
