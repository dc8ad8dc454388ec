package dev.zdt.operator.gate;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;

import dev.zdt.operator.api.v1alpha1.ZeroDowntimeApp;
import dev.zdt.operator.gate.GateFixture.Answer;
import dev.zdt.operator.testing.KubeApiServerResource;
import dev.zdt.operator.pod.GateToken;
import dev.zdt.operator.GateConfig;
import dev.zdt.operator.pod.GateKeys;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.QuarkusTestProfile;
import io.quarkus.test.junit.TestProfile;

/**
 * The gate with per-app tokens, as production runs it: a caller without the app's token holds
 * nothing, refuses nothing and writes no Event, whatever it names; the token the reconciler
 * renders opens the gate; a rotated key keeps the pods' tokens working.
 */
@QuarkusTest
@TestProfile(GateAuthTest.Profile.class)
@QuarkusTestResource(value = KubeApiServerResource.class, restrictToAnnotatedClass = false)
class GateAuthTest extends GateTestBase {

    @jakarta.inject.Inject
    GateKeys keys;

    static final byte[] KEY_A = "A".repeat(40).getBytes();
    static final byte[] KEY_B = "B".repeat(40).getBytes();
    static final Path KEYS = keyDir(KEY_A);

    public static class Profile implements QuarkusTestProfile {
        @Override
        public Map<String, String> getConfigOverrides() {
            return Map.of("zdt.gate.auth.required", "true",
                    "zdt.gate.auth.key-dir", KEYS.toString(),
                    "zdt.gate.auth.reload-interval", "200ms");
        }
    }

    private CompletableFuture<Answer> callPod(String app, String pod, String token) {
        return f.call("/gate/v1/" + f.ns + "/" + app + "/" + pod,
                token == null ? Map.of() : Map.of("Authorization", "Bearer " + token));
    }

    private static Answer atOnce(CompletableFuture<Answer> call) throws Exception {
        long sent = System.nanoTime();
        Answer a = call.get(5, TimeUnit.SECONDS);
        assertThat(a.receivedNanos() - sent).as("answered at once").isLessThan(GateBadInputTest.AT_ONCE.toNanos());
        return a;
    }

    @Test
    void callsWithoutTheAppsTokenAreRefused401AtOnceAndLeaveNoTrace() throws Exception {
        List<Pod> shop = readyShop(8, "shop-a", "shop-b");
        f.terminate(shop.get(0));
        ZeroDowntimeApp app = f.read("shop");
        String good = GateKeys.token(KEY_A, app);
        // The cache knows the app once a call with its token is held; answer it before going on.
        CompletableFuture<Answer> held = callPod("shop", "shop-a", good);
        await().atMost(Duration.ofSeconds(10)).until(() -> gate.held() == 1);

        ZeroDowntimeApp other = f.app("cart", ENDPOINTS, "");
        String[] bad = { null, "", "v1.nope", GateKeys.token(KEY_B, app), GateKeys.token(KEY_A, other),
                GateKeys.token(KEY_A, f.ns, "shop", "some-other-uid") };
        for (String token : bad) {
            Answer a = atOnce(callPod("shop", "shop-a", token));
            assertThat(a.status()).as("token %s", token).isEqualTo(401);
            assertThat(a.body()).contains(f.ns + "/shop").contains("not holding");
            assertThat(atOnce(f.call("/gate/v1/" + f.ns + "/shop", token == null || token.isEmpty() ? Map.of()
                    : Map.of("Authorization", "Bearer " + token))).status()).isEqualTo(401);
        }
        // An app that does not exist is answered in the same way: the answer tells a stranger nothing.
        Answer none = atOnce(callPod("no-such-app", "x", null));
        assertThat(none.status()).isEqualTo(401);
        assertThat(none.body()).isEqualTo(atOnce(callPod("shop", "shop-a", null)).body().replace("/shop", "/no-such-app"));

        assertThat(gate.held()).as("only the call with the token is held").isEqualTo(1);
        assertThat(metric("zdt_gate_calls_authenticated_total{token=\"invalid\"}")).isGreaterThanOrEqualTo(13);
        // An absence needs time to pass: past the claim wait (after which a refused-but-held call
        // would write its Event) no refused call left one, and the held call is still held.
        Thread.sleep(config().claimWait().toMillis() + 500);
        assertThat(f.events(AppHolds.UNATTRIBUTED)).isEmpty();
        assertThat(held).isNotDone();

        f.slice("shop", GateFixture.ready(shop.get(1)));
        assertThat(held.get(10, TimeUnit.SECONDS).status()).isEqualTo(200);
    }

    @Test
    void theReconcilerRendersTheTokenAndARotationKeepsItWorking() throws Exception {
        // httpGet mode: the kubelet's hook sends a fixed header, so its app token is rendered into the hook.
        ZeroDowntimeApp app = f.app("web", ENDPOINTS, "drain:\n  mode: httpGet");
        Deployment d = await().atMost(Duration.ofSeconds(30)).until(
                () -> client.apps().deployments().inNamespace(f.ns).withName("web").get(), x -> x != null);
        String rendered = GateToken.renderedIn(d);
        assertThat(rendered).isEqualTo(GateKeys.token(KEY_A, f.read("web")));

        // Rotate: the old key becomes previous; calls with the rendered token still hold.
        Files.write(KEYS.resolve("previous"), KEY_A);
        Files.write(KEYS.resolve("current"), KEY_B);
        try {
            ZeroDowntimeApp web = f.read("web");
            await().atMost(Duration.ofSeconds(5)).until(() -> keys.check(rendered, web) == GateKeys.Match.PREVIOUS);
            double before = metric("zdt_gate_calls_authenticated_total{token=\"previous\"}");
            Pod pod = f.pod("web", "web-a", 8);
            Pod other = f.pod("web", "web-b", 8);
            f.slice("web", GateFixture.ready(pod), GateFixture.ready(other));
            f.terminate(pod);
            CompletableFuture<Answer> held = callPod("web", "web-a", rendered);
            await().atMost(Duration.ofSeconds(10)).until(() -> gate.held() == 1);
            assertThat(metric("zdt_gate_calls_authenticated_total{token=\"previous\"}")).isEqualTo(before + 1);
            assertThat(atOnce(callPod("web", "web-a", GateKeys.token(KEY_A, f.ns, "web", "x"))).status()).isEqualTo(401);
            f.slice("web", GateFixture.ready(other));
            assertThat(held.get(10, TimeUnit.SECONDS).status()).isEqualTo(200);
            // A reconcile after the rotation (replicas 2 -> 3) keeps the token the pods carry: no rollout.
            client.resources(ZeroDowntimeApp.class).inNamespace(f.ns).withName("web").patch(
                    io.fabric8.kubernetes.client.dsl.base.PatchContext.of(
                            io.fabric8.kubernetes.client.dsl.base.PatchType.JSON_MERGE), "{\"spec\":{\"replicas\":3}}");
            Deployment scaled = await().atMost(Duration.ofSeconds(30)).until(
                    () -> client.apps().deployments().inNamespace(f.ns).withName("web").get(),
                    x -> x.getSpec().getReplicas() == 3);
            assertThat(GateToken.renderedIn(scaled)).isEqualTo(rendered);

            // The rotation ends: the old key is no longer accepted. The next reconcile, even one a pod
            // caused and that changes nothing in the spec, renders the current key's token.
            Files.delete(KEYS.resolve("previous"));
            await().atMost(Duration.ofSeconds(5)).until(() -> keys.check(rendered, web) == GateKeys.Match.NONE);
            f.pod("web", "web-c", 8);
            Deployment renewed = await().atMost(Duration.ofSeconds(30)).until(
                    () -> client.apps().deployments().inNamespace(f.ns).withName("web").get(),
                    x -> !rendered.equals(GateToken.renderedIn(x)));
            assertThat(GateToken.renderedIn(renewed)).isEqualTo(GateKeys.token(KEY_B, f.read("web")));
        } finally {
            Files.write(KEYS.resolve("current"), KEY_A);
            Files.deleteIfExists(KEYS.resolve("previous"));
        }
    }

    private GateConfig config() {
        return io.quarkus.arc.Arc.container().instance(GateConfig.class).get();
    }
}
