package dev.zdt.operator.ingress;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

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

import dev.zdt.operator.api.v1alpha1.ZeroDowntimeApp;
import dev.zdt.operator.gate.GateFixture;
import dev.zdt.operator.gate.GateTestBase;
import dev.zdt.operator.gate.GateFixture.Answer;
import dev.zdt.operator.testing.KubeApiServerResource;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.networking.v1.IngressClassBuilder;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.junit.QuarkusTest;

/**
 * verify: ingress with a real Traefik watching the test's API server: the gate releases a pod
 * only once Traefik's own API stops listing its address, and by its bound when Traefik does not.
 */
@QuarkusTest
@QuarkusTestResource(value = KubeApiServerResource.class, restrictToAnnotatedClass = false)
class TraefikGateTest extends GateTestBase {

    TraefikProcess traefik;

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
        if (traefik != null) {
            traefik.close();
        }
    }

    private static String traffic(String apiUrl) {
        return """
                provider: traefik
                throttleSeconds: 1
                watchSeconds: 0
                verify: ingress
                apiUrl: %s
                """.formatted(apiUrl);
    }

    private static final String INGRESS = """
            ingress:
              className: traefik
              host: shop.example.com
            """;

    /** The app, its Service and Ingress as the reconciler writes them, and two serving pods. */
    private Pod[] shop(String apiUrl, int holdSeconds) {
        f.app("shop", traffic(apiUrl), INGRESS);
        await().atMost(Duration.ofSeconds(30)).until(() -> client.services().inNamespace(f.ns).withName("shop").get() != null
                && client.network().v1().ingresses().inNamespace(f.ns).withName("shop").get() != null);
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

    @Test
    void holdsUntilTraefikDropsTheServer() throws Exception {
        double propagationsBefore = metric("zdt_propagation_observed_seconds_count");
        traefik = TraefikProcess.start(Duration.ofSeconds(2));
        // A bound long enough for two of Traefik's throttle periods: the setup below spends one.
        Pod[] pods = shop(traefik.apiUrl, 12);
        Pod a = pods[0];
        Pod b = pods[1];
        await().atMost(Duration.ofSeconds(30)).until(() -> traefik.servers(f.ns, "shop", 80), s -> s.equals(Set.of(ip(a), ip(b))));
        f.terminate(a);
        CompletableFuture<Answer> call = f.callApp("shop");
        awaitHeld(1);

        // A change Traefik applies now starts its 2 s throttle: the next one, shop-a leaving, waits for it.
        Pod c = f.pod("shop", "shop-c", 12);
        f.slice("shop", GateFixture.ready(a), GateFixture.ready(b), GateFixture.ready(c));
        await().atMost(Duration.ofSeconds(30)).until(() -> traefik.servers(f.ns, "shop", 80).contains(ip(c)));
        long removed = System.nanoTime();
        f.slice("shop", GateFixture.terminating(a), GateFixture.ready(b), GateFixture.ready(c));

        // Watch Traefik on the side: when did it last list shop-a?
        List<Long> listedAt = new CopyOnWriteArrayList<>();
        AtomicBoolean watching = new AtomicBoolean(true);
        Thread watcher = new Thread(() -> {
            while (watching.get()) {
                try {
                    long t = System.nanoTime();
                    if (traefik.servers(f.ns, "shop", 80).contains(ip(a))) {
                        listedAt.add(t);
                    }
                    Thread.sleep(25);
                } catch (Exception e) {
                    return;
                }
            }
        });
        watcher.start();
        Answer answer = call.get(15, TimeUnit.SECONDS);
        watching.set(false);
        watcher.join();

        assertThat(answer.status()).isEqualTo(200);
        assertThat(answer.body()).startsWith("Verified").contains("shop-a (" + ip(a) + ") no longer routed to by Traefik");
        assertThat(listedAt).as("Traefik kept listing shop-a after the slice dropped it").isNotEmpty();
        long lastListed = listedAt.get(listedAt.size() - 1);
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
    void releasedByTimeoutWhileTraefikStillListsIt() throws Exception {
        // Traefik applies its first configuration at once, then nothing for 60 s: a front end that lags.
        Pod[] pods = shop("http://127.0.0.1:1", 4);
        Pod a = pods[0];
        Pod b = pods[1];
        traefik = TraefikProcess.start(Duration.ofSeconds(60));
        f.app("shop", traffic(traefik.apiUrl), INGRESS);
        await().atMost(Duration.ofSeconds(90)).until(() -> traefik.servers(f.ns, "shop", 80), s -> s.equals(Set.of(ip(a), ip(b))));
        await().atMost(Duration.ofSeconds(10)).until(() -> traefik.apiUrl.equals(
                f.read("shop").getSpec().getTraffic().getApiUrl()));
        f.terminate(a);

        long sent = System.nanoTime();
        CompletableFuture<Answer> call = f.callApp("shop");
        awaitHeld(1);
        f.slice("shop", GateFixture.terminating(a), GateFixture.ready(b));
        Answer answer = call.get(15, TimeUnit.SECONDS);

        assertThat(answer.status()).isEqualTo(200);
        assertThat(answer.body()).startsWith("Timeout").contains("hold bound 4.0s reached")
                .contains("Traefik still routes to shop-a (" + ip(a) + ")");
        assertThat(answer.receivedNanos() - sent).isGreaterThanOrEqualTo(TimeUnit.SECONDS.toNanos(4));
        assertThat(traefik.servers(f.ns, "shop", 80)).as("Traefik still routes to it: the bound was the right call")
                .contains(ip(a));
        await().atMost(Duration.ofSeconds(10)).until(() -> f.events("DrainHoldTimeout").stream()
                .anyMatch(e -> e.getNote().contains("shop-a")));
    }

    @Test
    void timeoutSaysSoWhenTraefiksApiIsUnreachable() throws Exception {
        String closed = "http://127.0.0.1:" + TraefikProcess.freePort();
        Pod[] pods = shop(closed, 4);
        Pod a = pods[0];
        Pod b = pods[1];
        f.terminate(a);
        CompletableFuture<Answer> call = f.callApp("shop");
        awaitHeld(1);
        f.slice("shop", GateFixture.terminating(a), GateFixture.ready(b));

        Answer answer = call.get(15, TimeUnit.SECONDS);
        assertThat(answer.status()).isEqualTo(200);
        assertThat(answer.body()).startsWith("Timeout")
                .contains("Traefik could not be asked about shop-a: Traefik's API at " + closed + " was unreachable");
        var record = await().atMost(Duration.ofSeconds(10)).until(() -> {
            ZeroDowntimeApp app = f.read("shop");
            return app.getStatus() == null || app.getStatus().getLastDrains() == null ? null
                    : app.getStatus().getLastDrains().get(0);
        }, Objects::nonNull);
        assertThat(record.getMessage()).contains("unreachable");
    }

    @Test
    void findsTheAppsServersOnALaterPageOfTraefiksList() throws Exception {
        traefik = TraefikProcess.start(Duration.ofMillis(500));
        Pod[] pods = shop(traefik.apiUrl, 4);
        // "shop-0" sorts before "shop" in Traefik's list and matches the same search: page 1 of 2.
        f.app("shop-0", traffic(traefik.apiUrl), """
                ingress:
                  className: traefik
                  host: shop0.example.com
                """);
        await().atMost(Duration.ofSeconds(30)).until(() -> client.services().inNamespace(f.ns).withName("shop-0").get() != null);
        Pod other = f.pod("shop-0", "shop-0-a", 4);
        f.slice("shop-0", GateFixture.ready(other));
        await().atMost(Duration.ofSeconds(30)).until(() -> !traefik.servers(f.ns, "shop-0", 80).isEmpty()
                && !traefik.servers(f.ns, "shop", 80).isEmpty());

        IngressObservation seen = new TraefikVerifier(Duration.ofSeconds(2), 1).observe(f.read("shop"))
                .toCompletableFuture().get(10, TimeUnit.SECONDS);
        assertThat(seen.known()).isTrue();
        assertThat(seen.addresses()).containsExactlyInAnyOrder(ip(pods[0]), ip(pods[1]));
    }
}
