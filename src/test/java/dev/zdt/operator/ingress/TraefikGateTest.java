package dev.zdt.operator.ingress;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import dev.zdt.operator.testing.Apps;
import dev.zdt.operator.api.v1alpha1.ZeroDowntimeApp;
import dev.zdt.operator.gate.GateFixture;
import dev.zdt.operator.gate.GateFixture.Answer;
import dev.zdt.operator.gate.GateTestBase;
import dev.zdt.operator.watch.Policies;
import dev.zdt.operator.testing.KubeApiServerResource;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.ServiceBuilder;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointSliceBuilder;
import io.fabric8.kubernetes.api.model.networking.v1.IngressClassBuilder;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.junit.QuarkusTest;

/**
 * verify: ingress with real Traefik processes watching the test's API server, found as the
 * endpoints of a selector-less Service (traffic.controller) as the harness exposes its host-process
 * Traefik: the gate releases a pod only once every replica's API stops listing its address, and by
 * its bound when one still does, cannot be asked, or never showed the app at all.
 */
@QuarkusTest
@QuarkusTestResource(value = KubeApiServerResource.class, restrictToAnnotatedClass = false)
class TraefikGateTest extends GateTestBase {

    final List<TraefikProcess> traefiks = new ArrayList<>();

    @jakarta.inject.Inject
    Policies policies;

    @BeforeEach
    void ingressClass() {
        client.resource(new IngressClassBuilder().withNewMetadata().withName("traefik").endMetadata()
                .withNewSpec().withController("traefik.io/ingress-controller").endSpec().build())
                .createOr(existing -> client.network().v1().ingressClasses().withName("traefik").get());
    }

    /** Runs before the base's clean-up: no hold left while Traefik still runs, then Traefik stops. */
    @AfterEach
    void stopTraefik() throws Exception {
        await().atMost(Duration.ofSeconds(30)).until(() -> gate.held() == 0);
        for (TraefikProcess t : traefiks) {
            t.close();
        }
    }

    private TraefikProcess traefik(Duration throttle) throws Exception {
        TraefikProcess t = TraefikProcess.start(throttle);
        traefiks.add(t);
        return t;
    }

    private static final String TRAFFIC = """
            provider: traefik
            throttleSeconds: 1
            watchSeconds: 0
            verify: ingress
            controller: {namespace: %s, service: traefik, port: api}
            """;

    private static final String INGRESS = """
            ingress:
              className: traefik
              host: shop.example.com
            """;

    /**
     * The controller's Service as the harness writes it for a host process: no selector, one
     * EndpointSlice per replica (each listens on its own port of the host's address).
     */
    private void controller(String host, int... apiPorts) {
        client.resource(new ServiceBuilder().withNewMetadata().withName("traefik").withNamespace(f.ns).endMetadata()
                .withNewSpec().addNewPort().withName("api").withPort(9000).withNewTargetPort(9000).endPort().endSpec()
                .build()).serverSideApply();
        client.discovery().v1().endpointSlices().inNamespace(f.ns).withLabel("kubernetes.io/service-name", "traefik")
                .delete();
        for (int port : apiPorts) {
            client.resource(new EndpointSliceBuilder().withNewMetadata().withName("traefik-" + port).withNamespace(f.ns)
                    .withLabels(Map.of("kubernetes.io/service-name", "traefik")).endMetadata()
                    .withAddressType("IPv4")
                    .addNewPort().withName("api").withPort(port).withProtocol("TCP").endPort()
                    .addNewEndpoint().withAddresses(host).withNewConditions().withReady(true).endConditions().endEndpoint()
                    .build()).serverSideApply();
        }
    }

    private void controller(TraefikProcess... replicas) {
        controller(replicas[0].host, java.util.Arrays.stream(replicas).mapToInt(t -> t.apiPort).toArray());
    }

    /** The app (its budget holds holdSeconds), its Service and Ingress as the reconciler writes them, and two serving pods. */
    private Pod[] shop(int holdSeconds, String ingress) {
        f.app("shop", TRAFFIC.formatted(f.ns), ingress + "drain:\n  holdSeconds: " + holdSeconds + "\n");
        await().atMost(Duration.ofSeconds(30)).until(() -> client.services().inNamespace(f.ns).withName("shop").get() != null
                && (ingress.isEmpty() || client.network().v1().ingresses().inNamespace(f.ns).withName("shop").get() != null));
        Pod a = f.pod("shop", "shop-a", holdSeconds);
        Pod b = f.pod("shop", "shop-b", holdSeconds);
        f.slice("shop", GateFixture.ready(a), GateFixture.ready(b));
        return new Pod[] { a, b };
    }

    private static String ip(Pod p) {
        return p.getStatus().getPodIP();
    }

    private void awaitHeld(int n) {
        await().atMost(Duration.ofSeconds(5)).until(() -> gate.held() == n);
    }

    /** shop-a terminating and leaving the slices, its call held; shop-c added just before, to start {@code throttled}'s throttle. */
    private record Drain(Pod a, Pod b, Pod c, CompletableFuture<Answer> call, long removedNanos) {
    }

    private Drain drainShopA(int holdSeconds, TraefikProcess throttled) throws Exception {
        Pod[] pods = shop(holdSeconds, INGRESS);
        Pod a = pods[0];
        Pod b = pods[1];
        for (TraefikProcess t : traefiks) {
            await().atMost(Duration.ofSeconds(30)).until(() -> t.servers(f.ns, "shop", 80), s -> s.equals(Set.of(ip(a), ip(b))));
        }
        f.terminate(a);
        CompletableFuture<Answer> call = f.callApp("shop");
        awaitHeld(1);
        // A change the replica applies now starts its throttle: the next one, shop-a leaving, waits for its end.
        Pod c = f.pod("shop", "shop-c", holdSeconds);
        f.slice("shop", GateFixture.ready(a), GateFixture.ready(b), GateFixture.ready(c));
        await().atMost(Duration.ofSeconds(30)).until(() -> throttled.servers(f.ns, "shop", 80).contains(ip(c)));
        long removed = System.nanoTime();
        f.slice("shop", GateFixture.terminating(a), GateFixture.ready(b), GateFixture.ready(c));
        return new Drain(a, b, c, call, removed);
    }

    /** Watches a replica on the side: the nanoTimes at which it listed the pod. */
    private static final class Lister implements AutoCloseable {
        final List<Long> listedAt = new CopyOnWriteArrayList<>();
        private final AtomicBoolean watching = new AtomicBoolean(true);
        private final Thread thread;

        Lister(TraefikProcess t, String ns, String ip) {
            thread = new Thread(() -> {
                while (watching.get()) {
                    try {
                        long now = System.nanoTime();
                        if (t.servers(ns, "shop", 80).contains(ip)) {
                            listedAt.add(now);
                        }
                        Thread.sleep(25);
                    } catch (Exception e) {
                        return;
                    }
                }
            });
            thread.start();
        }

        long last() {
            assertThat(listedAt).as("the replica listed the pod after the slice dropped it").isNotEmpty();
            return listedAt.get(listedAt.size() - 1);
        }

        @Override
        public void close() throws InterruptedException {
            watching.set(false);
            thread.join();
        }
    }

    @Test
    void holdsUntilTraefikDropsTheServer() throws Exception {
        double propagationsBefore = metric("zdt_propagation_observed_seconds_count");
        TraefikProcess traefik = traefik(Duration.ofSeconds(2));
        controller(traefik);
        // A bound long enough for two of Traefik's throttle periods: the setup spends one.
        Drain d = drainShopA(12, traefik);
        Pod a = d.a();
        Pod b = d.b();
        Pod c = d.c();
        CompletableFuture<Answer> call = d.call();
        long removed = d.removedNanos();

        Answer answer;
        long lastListed;
        try (Lister lister = new Lister(traefik, f.ns, ip(a))) {
            answer = call.get(15, TimeUnit.SECONDS);
            lastListed = lister.last();
        }

        assertThat(answer.status()).isEqualTo(200);
        assertThat(answer.body()).startsWith("Verified").contains("shop-a (" + ip(a) + ") no longer routed to by Traefik");
        assertThat(lastListed - removed).as("the window the gate had to wait out")
                .isGreaterThan(TimeUnit.MILLISECONDS.toNanos(300));
        assertThat(answer.receivedNanos()).as("released only after Traefik's last listing").isGreaterThan(lastListed);
        assertThat(traefik.servers(f.ns, "shop", 80)).doesNotContain(ip(a)).contains(ip(b), ip(c));
        // Traefik 3.6 keeps a terminating endpoint that still serves as a fenced server: no new requests.
        assertThat(traefik.fenced(f.ns, "shop", 80)).containsExactly(ip(a));
        assertThat(metric("zdt_propagation_observed_seconds_count")).as("the removal Traefik showed was measured")
                .isEqualTo(propagationsBefore + 1);
    }

    @Test
    void holdsUntilTheLaggingReplicaDropsTheServerToo() throws Exception {
        TraefikProcess quick = traefik(Duration.ofMillis(500));
        TraefikProcess lagging = traefik(Duration.ofSeconds(6));
        controller(quick, lagging);
        Drain d = drainShopA(25, lagging);
        Pod a = d.a();
        CompletableFuture<Answer> call = d.call();

        Answer answer;
        long quickGone;
        long laggingLast;
        try (Lister l = new Lister(lagging, f.ns, ip(a))) {
            await().atMost(Duration.ofSeconds(10)).until(() -> !quick.servers(f.ns, "shop", 80).contains(ip(a)));
            quickGone = System.nanoTime();
            assertThat(lagging.servers(f.ns, "shop", 80)).as("the lagging replica still routes to shop-a").contains(ip(a));
            assertThat(call).as("held while one replica still routes to the pod").isNotDone();
            answer = call.get(25, TimeUnit.SECONDS);
            laggingLast = l.last();
        }
        assertThat(answer.status()).isEqualTo(200);
        assertThat(answer.body()).startsWith("Verified").contains("(all 2 replicas asked)");
        assertThat(laggingLast - quickGone).as("the replicas' windows differ").isGreaterThan(TimeUnit.SECONDS.toNanos(2));
        assertThat(answer.receivedNanos()).as("released only after the lagging replica's last listing")
                .isGreaterThan(laggingLast);
    }

    @Test
    void releasedByTimeoutWhileTraefikStillListsIt() throws Exception {
        // Traefik applies its first configuration at once, then nothing for 60 s: a front end that lags.
        Pod[] pods = shop(4, INGRESS);
        Pod a = pods[0];
        Pod b = pods[1];
        TraefikProcess traefik = traefik(Duration.ofSeconds(60));
        controller(traefik);
        await().atMost(Duration.ofSeconds(90)).until(() -> traefik.servers(f.ns, "shop", 80), s -> s.equals(Set.of(ip(a), ip(b))));
        f.terminate(a);

        long sent = System.nanoTime();
        CompletableFuture<Answer> call = f.callApp("shop");
        awaitHeld(1);
        f.slice("shop", GateFixture.terminating(a), GateFixture.ready(b));
        Answer answer = call.get(15, TimeUnit.SECONDS);

        String replica = traefik.host + ":" + traefik.apiPort;
        assertThat(answer.status()).isEqualTo(200);
        assertThat(answer.body()).startsWith("Timeout").contains("hold bound 4.0s reached")
                .contains("Traefik still routes to shop-a (" + ip(a) + ") through replica " + replica + " ("
                        + f.ns + "-shop-80@kubernetes)");
        assertThat(answer.receivedNanos() - sent).isGreaterThanOrEqualTo(TimeUnit.SECONDS.toNanos(4));
        assertThat(traefik.servers(f.ns, "shop", 80)).as("Traefik still routes to it: the bound was the right call")
                .contains(ip(a));
        await().atMost(Duration.ofSeconds(10)).until(() -> f.events("DrainHoldTimeout").stream()
                .anyMatch(e -> e.getNote().contains("shop-a") && e.getNote().contains(replica)));
    }

    @Test
    void anAppTraefikHasNoRouteForHoldsToTheBound() throws Exception {
        // No Ingress: Traefik runs but routes to the app by no name it has, so not listing shop-a proves nothing.
        TraefikProcess traefik = traefik(Duration.ofMillis(500));
        controller(traefik);
        Pod[] pods = shop(4, "");
        Pod a = pods[0];
        f.terminate(a);
        CompletableFuture<Answer> call = f.callApp("shop");
        awaitHeld(1);
        f.slice("shop", GateFixture.terminating(a), GateFixture.ready(pods[1]));
        Answer answer = call.get(15, TimeUnit.SECONDS);
        assertThat(answer.status()).isEqualTo(200);
        assertThat(answer.body()).startsWith("Timeout")
                .contains("Traefik cannot confirm that shop-a is no longer routed to: replica " + traefik.host + ":"
                        + traefik.apiPort + " was never seen listing a pod of the app")
                .contains("looked for ").contains(ip(a)).contains(ip(pods[1]))
                .contains("none named like " + f.ns + "/shop");
    }

    @Test
    void timeoutSaysSoWhenTraefiksApiIsUnreachable() throws Exception {
        String host = TraefikProcess.hostAddress();
        int closed = TraefikProcess.freePort();
        controller(host, closed);
        Pod[] pods = shop(4, INGRESS);
        Pod a = pods[0];
        Pod b = pods[1];
        f.terminate(a);
        CompletableFuture<Answer> call = f.callApp("shop");
        awaitHeld(1);
        f.slice("shop", GateFixture.terminating(a), GateFixture.ready(b));

        Answer answer = call.get(15, TimeUnit.SECONDS);
        assertThat(answer.status()).isEqualTo(200);
        assertThat(answer.body()).startsWith("Timeout").contains("Traefik cannot confirm that shop-a is no longer routed to: "
                + "Traefik replica " + host + ":" + closed + " could not be connected to (refused or unreachable)");
        var record = await().atMost(Duration.ofSeconds(10)).until(() -> {
            ZeroDowntimeApp app = f.read("shop");
            return app.getStatus() == null || app.getStatus().getLastDrains() == null ? null
                    : app.getStatus().getLastDrains().get(0);
        }, Objects::nonNull);
        assertThat(record.getMessage()).contains("could not be connected to");
    }

    @Test
    void anApiUrlOffTheAllowListIsRefusedInTheStatus() {
        f.app("shop", """
                provider: traefik
                verify: ingress
                apiUrl: https://kubernetes.default.svc/
                """, "");
        var degraded = await().atMost(Duration.ofSeconds(30)).until(() -> {
            ZeroDowntimeApp app = f.read("shop");
            return app.getStatus() == null || app.getStatus().getConditions() == null ? null
                    : app.getStatus().getConditions().stream().filter(c -> "Degraded".equals(c.getType())
                            && "True".equals(c.getStatus())).findFirst().orElse(null);
        }, Objects::nonNull);
        assertThat(degraded.getReason()).isEqualTo("InvalidSpec");
        assertThat(degraded.getMessage()).contains("traffic.apiUrl https://kubernetes.default.svc/ is not on the "
                + "operator's allow-list (empty)").contains("traffic.controller").contains("ingress.allowedApiUrls");
    }

    @Test
    void findsThePodsByAddressUnderAnyProvidersName() throws Exception {
        // Traefik's file provider: the app is "shop@file", its servers listed by URL, no Kubernetes name at all.
        Path dir = Files.createTempDirectory("traefik-files");
        f.app("shop", TRAFFIC.formatted(f.ns), "drain:\n  holdSeconds: 10\n");
        Pod a = f.pod("shop", "shop-a", 10);
        Pod b = f.pod("shop", "shop-b", 10);
        f.slice("shop", GateFixture.ready(a), GateFixture.ready(b));
        files(dir, a, b);
        TraefikProcess traefik = TraefikProcess.startWithFiles(dir);
        traefiks.add(traefik);
        controller(traefik);
        await().atMost(Duration.ofSeconds(30)).until(() -> traefik.servers("shop@file"), s -> s.equals(Set.of(ip(a), ip(b))));

        f.terminate(a);
        CompletableFuture<Answer> call = f.callApp("shop");
        awaitHeld(1);
        f.slice("shop", GateFixture.terminating(a), GateFixture.ready(b));
        // The claim itself is a window: while shop@file lists shop-a, no release.
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> call.get(2, TimeUnit.SECONDS))
                .as("held while shop@file lists shop-a").isInstanceOf(java.util.concurrent.TimeoutException.class);
        files(dir, b);
        Answer answer = call.get(10, TimeUnit.SECONDS);
        assertThat(answer.status()).isEqualTo(200);
        assertThat(answer.body()).startsWith("Verified").contains("shop-a (" + ip(a) + ") no longer routed to by Traefik");
        assertThat(traefik.servers("shop@file")).containsExactly(ip(b));
    }

    @Test
    void aDrainPolicysPodIsHeldUntilTraefikDropsItsAddress() throws Exception {
        // A workload the operator did not render: routed under a name of the user's, found by address.
        client.resource(Apps.webPolicy(f.ns, "drain: {holdSeconds: 10}\ntraffic:\n" + TRAFFIC.formatted(f.ns).indent(2)))
                .create();
        await().atMost(Duration.ofSeconds(10)).until(() -> policies.get(f.ns, "web") != null);
        Path dir = Files.createTempDirectory("traefik-files");
        Pod a = f.policyPod("web", "web-a", 10);
        Pod b = f.policyPod("web", "web-b", 10);
        f.serviceSlice("web", GateFixture.ready(a), GateFixture.ready(b));
        files(dir, a, b);
        TraefikProcess traefik = TraefikProcess.startWithFiles(dir);
        traefiks.add(traefik);
        controller(traefik);
        await().atMost(Duration.ofSeconds(30)).until(() -> traefik.servers("shop@file"), s -> s.equals(Set.of(ip(a), ip(b))));

        f.terminate(a);
        CompletableFuture<Answer> call = f.callPod("policy.web", "web-a");
        awaitHeld(1);
        f.serviceSlice("web", GateFixture.terminating(a), GateFixture.ready(b));
        // Out of the Service's endpoints, and the propagation time (1 s) past: still held while Traefik lists it.
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> call.get(3, TimeUnit.SECONDS))
                .as("held while Traefik lists web-a").isInstanceOf(java.util.concurrent.TimeoutException.class);
        files(dir, b);
        Answer answer = call.get(10, TimeUnit.SECONDS);
        assertThat(answer.status()).isEqualTo(200);
        assertThat(answer.body()).startsWith("Verified").contains("web-a (" + ip(a) + ") no longer routed to by Traefik");
    }

    private static void files(Path dir, Pod... servers) throws Exception {
        StringBuilder yaml = new StringBuilder("http:\n  services:\n    shop:\n      loadBalancer:\n        servers:\n");
        for (Pod p : servers) {
            yaml.append("          - url: http://").append(ip(p)).append(":8080\n");
        }
        yaml.append("  routers:\n    shop:\n      rule: Host(`shop.example.com`)\n      service: shop\n");
        Path tmp = dir.resolve("shop.yml.tmp");
        Files.writeString(tmp, yaml);
        Files.move(tmp, dir.resolve("shop.yml"), java.nio.file.StandardCopyOption.ATOMIC_MOVE,
                java.nio.file.StandardCopyOption.REPLACE_EXISTING);
    }
}
