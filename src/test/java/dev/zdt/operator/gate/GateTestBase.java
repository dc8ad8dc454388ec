package dev.zdt.operator.gate;

import static org.awaitility.Awaitility.await;

import java.net.URL;
import java.time.Duration;

import jakarta.inject.Inject;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;

import io.fabric8.kubernetes.client.KubernetesClient;
import io.quarkus.test.common.http.TestHTTPResource;

/** What the gate's tests against a real API server share: a fresh namespace, a synced gate, no hold left behind. */
abstract class GateTestBase {

    @Inject
    KubernetesClient client;

    @Inject
    DrainGate gate;

    @TestHTTPResource("/")
    URL base;

    GateFixture f;

    @BeforeEach
    void fixture() throws Exception {
        f = new GateFixture(client, base.toURI());
        await().atMost(Duration.ofSeconds(30)).until(gate::synced);
    }

    @AfterEach
    void cleanUp() {
        await().atMost(Duration.ofSeconds(60)).until(() -> gate.held() == 0);
        f.close();
    }
}
