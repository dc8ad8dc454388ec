package dev.zdt.operator.ingress;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import dev.zdt.operator.gate.GateFixture;
import dev.zdt.operator.gate.GateFixture.Answer;
import dev.zdt.operator.gate.GateTestBase;
import dev.zdt.operator.testing.KubeApiServerResource;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.ServiceBuilder;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointSliceBuilder;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.junit.QuarkusTest;

/**
 * provider: health-probe with verify: ingress against a real HAProxy that health-checks the pods:
 * its runtime API is found as the endpoint of a selector-less Service (traffic.controller), as the
 * harness exposes its host-process HAProxy. A pod is released only once HAProxy's checks marked its
 * server DOWN, and an app HAProxy never listed holds to its bound.
 */
@QuarkusTest
@QuarkusTestResource(value = KubeApiServerResource.class, restrictToAnnotatedClass = false)
class HaproxyGateTest extends GateTestBase {

    private static final Duration INTER = Duration.ofMillis(300);
    private static final int FALL = 3;

    private final List<AutoCloseable> started = new ArrayList<>();

    @BeforeEach
    void haproxyInstalled() {
        Assumptions.assumeTrue(HaproxyProcess.installed(), "no HAProxy at " + HaproxyProcess.binary()
                + ": `apt-get install haproxy` (e2e/cluster/zdt-cluster deps installs it; make test runs that)");
    }

    @AfterEach
    void stopHaproxy() throws Exception {
        await().atMost(Duration.ofSeconds(30)).until(() -> gate.held() == 0);
        for (AutoCloseable c : started) {
            c.close();
        }
    }

    private static final String TRAFFIC = """
            provider: health-probe
            probe: {intervalSeconds: 1, timeoutSeconds: 1, unhealthyThreshold: 3, healthyThreshold: 1}
            verify: ingress
            controller: {namespace: %s, service: haproxy, port: runtime}
            """;

    /** HAProxy's runtime API as the harness exposes a host process: a Service without selector, a hand-written slice. */
    private void controller(HaproxyProcess h) {
        client.resource(new ServiceBuilder().withNewMetadata().withName("haproxy").withNamespace(f.ns).endMetadata()
                .withNewSpec().addNewPort().withName("runtime").withPort(9999).withNewTargetPort(9999).endPort().endSpec()
                .build()).serverSideApply();
        client.resource(new EndpointSliceBuilder().withNewMetadata().withName("haproxy-1").withNamespace(f.ns)
                .withLabels(Map.of("kubernetes.io/service-name", "haproxy")).endMetadata()
                .withAddressType("IPv4")
                .addNewPort().withName("runtime").withPort(h.apiPort).withProtocol("TCP").endPort()
                .addNewEndpoint().withAddresses(h.host).withNewConditions().withReady(true).endConditions().endEndpoint()
                .build()).serverSideApply();
    }

    private HaproxyProcess haproxy(Map<String, HaproxyProcess.Health> servers) throws Exception {
        HaproxyProcess h = HaproxyProcess.start("shop", servers, INTER, FALL);
        started.add(h);
        return h;
    }

    private HaproxyProcess.Health health() throws Exception {
        HaproxyProcess.Health health = new HaproxyProcess.Health();
        started.add(health);
        return health;
    }

    private static String ip(Pod p) {
        return p.getStatus().getPodIP();
    }

    private Pod[] shop(int holdSeconds) {
        f.app("shop", TRAFFIC.formatted(f.ns), "drain:\n  holdSeconds: " + holdSeconds + "\n");
        Pod a = f.pod("shop", "shop-a", holdSeconds);
        Pod b = f.pod("shop", "shop-b", holdSeconds);
        f.slice("shop", GateFixture.ready(a), GateFixture.ready(b));
        return new Pod[] { a, b };
    }

    @Test
    void holdsUntilHaproxysHealthChecksMarkThePodDown() throws Exception {
        Pod[] pods = shop(20);
        Pod a = pods[0];
        Pod b = pods[1];
        HaproxyProcess.Health healthA = health();
        Map<String, HaproxyProcess.Health> servers = new LinkedHashMap<>();
        servers.put(ip(a), healthA);
        servers.put(ip(b), health());
        HaproxyProcess h = haproxy(servers);
        controller(h);
        await().atMost(Duration.ofSeconds(10)).until(h::up, up -> up.equals(Set.of(ip(a), ip(b))));

        f.terminate(a);
        CompletableFuture<Answer> call = f.callApp("shop");
        await().atMost(Duration.ofSeconds(5)).until(() -> gate.held() == 1);
        f.slice("shop", GateFixture.terminating(a), GateFixture.ready(b));
        // The EndpointSlice dropped the pod, but HAProxy does not read it: its server stays UP, the hold stays.
        await().during(Duration.ofSeconds(2)).atMost(Duration.ofSeconds(3)).until(() -> !call.isDone());
        assertThat(h.up()).contains(ip(a));

        AtomicLong lastUp = new AtomicLong();
        AtomicBoolean watching = new AtomicBoolean(true);
        Thread watcher = new Thread(() -> {
            while (watching.get()) {
                try {
                    long now = System.nanoTime();
                    if (h.up().contains(ip(a))) {
                        lastUp.set(now);
                    }
                    Thread.sleep(20);
                } catch (Exception e) {
                    return;
                }
            }
        });
        watcher.start();
        long failed = System.nanoTime();
        healthA.fail();
        Answer answer;
        try {
            answer = call.get(20, TimeUnit.SECONDS);
        } finally {
            watching.set(false);
            watcher.join();
        }

        assertThat(answer.status()).isEqualTo(200);
        assertThat(answer.body()).startsWith("Verified").contains("shop-a (" + ip(a) + ") no longer routed to by HAProxy");
        assertThat(lastUp.get() - failed).as("HAProxy kept the server UP for about (fall - 1) checks after the pod failed")
                .isGreaterThan(INTER.multipliedBy(FALL - 1).toNanos() - TimeUnit.MILLISECONDS.toNanos(100));
        assertThat(answer.receivedNanos()).as("released only after HAProxy's last UP").isGreaterThan(lastUp.get());
        assertThat(h.servers()).filteredOn(s -> s.address().equals(ip(a))).extracting(HaproxyVerifier.Server::state)
                .containsExactly("DOWN");
        assertThat(h.up()).containsExactly(ip(b));
    }

    @Test
    void anAppHaproxyNeverListedHoldsToTheBound() throws Exception {
        Pod[] pods = shop(4);
        Pod a = pods[0];
        // HAProxy balances over other addresses: not listing shop-a proves nothing.
        HaproxyProcess h = haproxy(Map.of("10.255.0.1", health()));
        controller(h);
        await().atMost(Duration.ofSeconds(10)).until(h::up, up -> up.equals(Set.of("10.255.0.1")));
        f.terminate(a);
        long sent = System.nanoTime();
        CompletableFuture<Answer> call = f.callApp("shop");
        await().atMost(Duration.ofSeconds(5)).until(() -> gate.held() == 1);
        f.slice("shop", GateFixture.terminating(a), GateFixture.ready(pods[1]));
        Answer answer = call.get(15, TimeUnit.SECONDS);
        assertThat(answer.status()).isEqualTo(200);
        assertThat(answer.body()).startsWith("Timeout")
                .contains("HAProxy cannot confirm that shop-a is no longer routed to: replica " + h.host + ":" + h.apiPort
                        + " was never seen listing a pod of the app")
                .contains("found 1 servers in 1 backends, none at those addresses");
        assertThat(answer.receivedNanos() - sent).isGreaterThanOrEqualTo(TimeUnit.SECONDS.toNanos(4));
    }
}
