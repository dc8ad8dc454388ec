package dev.zdt.operator.gate;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import dev.zdt.operator.api.v1alpha1.DrainRecord;
import dev.zdt.operator.api.v1alpha1.ZeroDowntimeApp;
import dev.zdt.operator.gate.GateFixture.Answer;
import dev.zdt.operator.testing.KubeApiServerResource;
import dev.zdt.operator.pod.GateToken;
import dev.zdt.operator.pod.PodIdentity;
import dev.zdt.operator.pod.GateKeys;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.ServiceAccountBuilder;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.api.model.authentication.TokenRequestBuilder;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.QuarkusTestProfile;
import io.quarkus.test.junit.TestProfile;

/**
 * Pods prove who they are with their own projected token, checked by a real API server's
 * TokenReview: a call holds only the pod its token was issued for, whatever the path names; a
 * token for another audience, a made-up one, or one whose pod is gone holds nothing; app tokens
 * open the gate only within the legacy window (here: already over) except in httpGet mode.
 */
@QuarkusTest
@TestProfile(PodIdentityTest.Profile.class)
@QuarkusTestResource(value = KubeApiServerResource.class, restrictToAnnotatedClass = false)
class PodIdentityTest extends GateTestBase {

    static final Path KEYS = keyDir("K".repeat(40).getBytes());

    public static class Profile implements QuarkusTestProfile {
        @Override
        public Map<String, String> getConfigOverrides() {
            return Map.of("zdt.gate.auth.required", "true",
                    "zdt.gate.auth.key-dir", KEYS.toString(),
                    // The window is over from the start: an app token opens the gate only in httpGet mode.
                    "zdt.gate.auth.legacy-window", "0s");
        }
    }

    @BeforeEach
    void serviceAccount() {
        // No controller manager here: the namespace's default ServiceAccount is made by hand.
        client.resource(new ServiceAccountBuilder().withNewMetadata().withName("default").withNamespace(f.ns)
                .endMetadata().build()).serverSideApply();
    }

    /** What the kubelet mounts for the pod: a token bound to it, for the gate's audience. */
    private String tokenOf(Pod pod, String audience) {
        return client.serviceAccounts().inNamespace(f.ns).withName("default").tokenRequest(new TokenRequestBuilder()
                .withNewSpec().withAudiences(audience).withExpirationSeconds(PodIdentity.EXPIRATION_SECONDS)
                .withNewBoundObjectRef().withApiVersion("v1").withKind("Pod").withName(pod.getMetadata().getName())
                .withUid(pod.getMetadata().getUid()).endBoundObjectRef().endSpec().build())
                .getStatus().getToken();
    }

    private CompletableFuture<Answer> call(String path, String token) {
        return f.call(path, token == null ? Map.of() : Map.of("Authorization", "Bearer " + token));
    }

    private static Answer soon(CompletableFuture<Answer> call) throws Exception {
        return call.get(10, TimeUnit.SECONDS);
    }

    @Test
    void aPodsOwnTokenHoldsItAndOnlyIt() throws Exception {
        List<Pod> shop = readyShop(8, "shop-a", "shop-b", "shop-c");
        Pod a = shop.get(0);
        Pod b = shop.get(1);
        String tokenA = tokenOf(a, PodIdentity.AUDIENCE);
        double pods = metric("zdt_gate_calls_authenticated_total{token=\"pod\"}");

        // A's token names B: refused, whatever the path says, and nothing is held.
        Answer other = soon(call("/gate/v1/" + f.ns + "/shop/shop-b", tokenA));
        assertThat(other.status()).isEqualTo(403);
        assertThat(other.body()).contains(f.ns + "/shop-a").contains("only for itself");
        // ...or another namespace.
        assertThat(soon(call("/gate/v1/elsewhere/shop/shop-a", tokenA)).status()).isEqualTo(403);
        assertThat(gate.held()).isZero();

        // A's own call: held until A leaves the EndpointSlice, then released.
        f.terminate(a);
        CompletableFuture<Answer> held = call("/gate/v1/" + f.ns + "/shop/shop-a", tokenA);
        await().atMost(Duration.ofSeconds(10)).until(() -> gate.held() == 1);
        assertThat(metric("zdt_gate_calls_authenticated_total{token=\"pod\"}")).isEqualTo(pods + 1);
        // The app-scoped path (no pod named) with a pod token holds that very pod too: B is not touched.
        f.terminate(b);
        Answer appScoped = soon(call("/gate/v1/" + f.ns + "/shop", tokenOf(b, PodIdentity.AUDIENCE)).thenApply(x -> x)
                .completeOnTimeout(null, 2, TimeUnit.SECONDS));
        assertThat(appScoped).as("B's own call is held, not answered").isNull();
        assertThat(gate.held()).isEqualTo(2);
        f.slice("shop", GateFixture.ready(shop.get(2)));
        assertThat(held.get(10, TimeUnit.SECONDS).status()).isEqualTo(200);
        assertThat(awaitDrainRecord("shop", "shop-a").getReleasedBy()).isEqualTo(DrainRecord.ReleasedBy.VERIFIED);
        assertThat(awaitDrainRecord("shop", "shop-b").getReleasedBy()).isEqualTo(DrainRecord.ReleasedBy.VERIFIED);
    }

    @Test
    void tokensThatProveNothingHoldNothing() throws Exception {
        List<Pod> shop = readyShop(8, "shop-a", "shop-b");
        Pod a = shop.get(0);
        f.terminate(a);
        String path = "/gate/v1/" + f.ns + "/shop/shop-a";
        String forApiServer = tokenOf(a, "https://kubernetes.default.svc");
        String ours = tokenOf(a, PodIdentity.AUDIENCE);
        String[] parts = ours.split("\\.");
        // Our audience and claims, someone else's signature.
        String forged = parts[0] + "." + parts[1] + "." + Base64.getUrlEncoder().withoutPadding()
                .encodeToString("not the API server's signature".getBytes(StandardCharsets.UTF_8));
        // A signature over other claims: the pod's name swapped in the payload.
        String edited = parts[0] + "." + Base64.getUrlEncoder().withoutPadding().encodeToString(
                new String(Base64.getUrlDecoder().decode(parts[1]), StandardCharsets.UTF_8).replace("shop-a", "shop-b")
                        .getBytes(StandardCharsets.UTF_8)) + "." + parts[2];
        for (String token : new String[] { null, "", "not-a-jwt", forApiServer, forged, edited }) {
            Answer answer = soon(call(path, token));
            // A refused caller is barred for a moment (429); both hold nothing and the helper then waits its hold.
            assertThat(answer.status()).as("token %s", token).isIn(401, 429);
            assertThat(answer.body()).doesNotContain("held");
            Thread.sleep(PodTokens.BARRED_FOR.toMillis() + 100);
            assertThat(soon(call(path, token)).status()).as("again: %s", token).isEqualTo(401);
        }
        assertThat(gate.held()).isZero();

        // A token whose pod is gone: the API server refuses it (the pod in the gate's cache is another by then).
        Pod c = f.pod("shop", "shop-c", 8);
        String gone = tokenOf(c, PodIdentity.AUDIENCE);
        client.pods().inNamespace(f.ns).withName("shop-c").edit(p -> {
            p.getMetadata().setFinalizers(List.of());
            return p;
        });
        client.pods().inNamespace(f.ns).withName("shop-c").delete();
        await().atMost(Duration.ofSeconds(10)).until(() -> client.pods().inNamespace(f.ns).withName("shop-c").get() == null);
        Thread.sleep(PodTokens.BARRED_FOR.toMillis() + 100);
        Answer replayed = soon(call("/gate/v1/" + f.ns + "/shop/shop-c", gone));
        assertThat(replayed.status()).isEqualTo(401);
        assertThat(replayed.body()).contains("did not accept the token");
        assertThat(gate.held()).isZero();
    }

    @Test
    void appTokensOpenTheGateOnlyInHttpGetModeAfterTheWindow() throws Exception {
        ZeroDowntimeApp gated = f.app("web", ENDPOINTS, "");
        ZeroDowntimeApp hooked = f.app("hook", ENDPOINTS, "drain:\n  mode: httpGet");
        Deployment web = await().atMost(Duration.ofSeconds(30)).until(
                () -> client.apps().deployments().inNamespace(f.ns).withName("web").get(), x -> x != null);
        Deployment hook = await().atMost(Duration.ofSeconds(30)).until(
                () -> client.apps().deployments().inNamespace(f.ns).withName("hook").get(), x -> x != null);
        // Gate mode renders no credential; httpGet mode's hook carries its app's token (its only way).
        assertThat(GateToken.renderedIn(web)).isNull();
        assertThat(web.getSpec().getTemplate().getSpec().getVolumes()).anyMatch(v -> PodIdentity.VOLUME.equals(v.getName()));
        String hookToken = GateToken.renderedIn(hook);
        assertThat(hookToken).isNotNull();

        String webToken = GateKeys.token("K".repeat(40).getBytes(), f.read("web"));
        Answer refused = soon(call("/gate/v1/" + f.ns + "/web/web-a", webToken));
        assertThat(refused.status()).isEqualTo(401);
        assertThat(refused.body()).contains("legacy-window");

        Pod h = f.pod("hook", "hook-a", 8);
        Pod other = f.pod("hook", "hook-b", 8);
        f.slice("hook", GateFixture.ready(h), GateFixture.ready(other));
        f.terminate(h);
        CompletableFuture<Answer> held = call("/gate/v1/" + f.ns + "/hook", hookToken);
        await().atMost(Duration.ofSeconds(10)).until(() -> gate.held() == 1);
        f.slice("hook", GateFixture.ready(other));
        assertThat(held.get(10, TimeUnit.SECONDS).status()).isEqualTo(200);
        assertThat(gated.getMetadata().getUid()).isNotNull();
    }

    @Test
    void aFloodOfMadeUpTokensIsBoundedPerCaller() throws Exception {
        readyShop(8, "shop-a");
        String path = "/gate/v1/" + f.ns + "/shop/shop-a";
        // Well-formed, for our audience and bound to a pod by their claims, each one different: every one
        // passes the cheap checks and would cost the API server a review.
        String header = Base64.getUrlEncoder().withoutPadding().encodeToString("{\"alg\":\"RS256\"}".getBytes());
        List<CompletableFuture<Answer>> calls = new ArrayList<>();
        long exp = System.currentTimeMillis() / 1000 + 600;
        for (int i = 0; i < 200; i++) {
            String claims = "{\"aud\":[\"" + PodIdentity.AUDIENCE + "\"],\"exp\":" + exp
                    + ",\"kubernetes.io\":{\"namespace\":\"" + f.ns + "\",\"pod\":{\"name\":\"shop-a\",\"uid\":\"u" + i + "\"}}}";
            String token = header + "." + Base64.getUrlEncoder().withoutPadding().encodeToString(claims.getBytes()) + ".c2ln";
            calls.add(call(path, token));
        }
        int refused = 0;
        int limited = 0;
        for (CompletableFuture<Answer> c : calls) {
            Answer a = soon(c);
            assertThat(a.status()).isIn(401, 429);
            if (a.status() == 401) {
                refused++;
            } else {
                limited++;
                assertThat(a.retryAfter()).isNotNull();
            }
        }
        // One caller may have only a few reviewed at once, and none for a moment after a refusal:
        // most of the flood never reached the API server.
        assertThat(limited).as("429s").isGreaterThan(150);
        assertThat(refused).as("reviewed and refused").isGreaterThan(0).isLessThan(50);
        assertThat(gate.held()).isZero();
    }
}
