package dev.zdt.operator.gate;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.net.URL;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

import jakarta.inject.Inject;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;

import dev.zdt.operator.api.v1alpha1.DrainRecord;
import dev.zdt.operator.testing.MetricsReader;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.discovery.v1.Endpoint;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.quarkus.test.common.http.TestHTTPResource;

/** What the gate's tests against a real API server share: a fresh namespace, a synced gate, no hold left behind. */
public abstract class GateTestBase {

    /** verify: endpoints, propagation 1 s (provider generic). */
    protected static final String ENDPOINTS = """
            provider: generic
            propagationSeconds: 1
            verify: endpoints
            """;

    @Inject
    protected KubernetesClient client;

    @Inject
    protected DrainGate gate;

    @TestHTTPResource("/")
    protected URL base;

    /** The management interface: health and metrics, on a port the gate Service does not expose. */
    @TestHTTPResource(value = "/", management = true)
    protected URL management;

    protected GateFixture f;

    /** A key directory as the chart mounts it, holding {@code current}: for profiles that turn auth on. */
    protected static java.nio.file.Path keyDir(byte[] current) {
        try {
            java.nio.file.Path dir = java.nio.file.Files.createTempDirectory("zdt-gate-key");
            java.nio.file.Files.write(dir.resolve("current"), current);
            return dir;
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    /**
     * App "shop" (verify: endpoints) whose EndpointSlice offers every named pod as ready; the app's
     * budget holds for the given time (drain.holdSeconds), and its pods carry it as their Deployment
     * stamps it.
     */
    protected List<Pod> readyShop(int holdSeconds, String... names) {
        f.app("shop", ENDPOINTS, "drain:\n  holdSeconds: " + holdSeconds);
        List<Pod> pods = Arrays.stream(names).map(name -> f.pod("shop", name, holdSeconds)).toList();
        f.slice("shop", pods.stream().map(GateFixture::ready).toArray(Endpoint[]::new));
        // The gate answers 404 at once for an app its informers have not delivered yet.
        await().atMost(Duration.ofSeconds(10)).until(() -> gate.sees(f.ns + "/shop", names.length));
        return pods;
    }

    /** The Prometheus text at /q/metrics on the management port, read as a scraper allowed to (testing/MetricsReader). */
    protected String metrics() throws Exception {
        var answer = f.get(management.toURI().resolve("/q/metrics"),
                Map.of("Authorization", "Bearer " + MetricsReader.token(client)));
        assertThat(answer.statusCode()).as("GET %s/q/metrics", management).isEqualTo(200);
        return answer.body();
    }

    /** One series' value in the Prometheus text, e.g. {@code zdt_drains_total{outcome="Verified"}}; 0 when absent. */
    protected double metric(String series) throws Exception {
        String prefix = series + " ";
        return metrics().lines().filter(l -> l.startsWith(prefix)).findFirst()
                .map(l -> Double.parseDouble(l.substring(prefix.length()).trim())).orElse(0.0);
    }

    /** The pod's record in the app's status.lastDrains, once the reporter has written it. */
    protected DrainRecord awaitDrainRecord(String app, String pod) {
        return await().atMost(Duration.ofSeconds(10)).until(() -> {
            var status = f.read(app).getStatus();
            return status == null || status.getLastDrains() == null ? null
                    : status.getLastDrains().stream().filter(d -> pod.equals(d.getPod())).findFirst().orElse(null);
        }, d -> d != null);
    }

    @BeforeEach
    protected void fixture() throws Exception {
        f = new GateFixture(client, base.toURI());
        await().atMost(Duration.ofSeconds(30)).until(gate::synced);
    }

    @AfterEach
    protected void cleanUp() {
        await().atMost(Duration.ofSeconds(60)).until(() -> gate.held() == 0);
        f.close();
    }
}
