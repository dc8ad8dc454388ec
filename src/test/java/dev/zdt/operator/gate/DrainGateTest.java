package dev.zdt.operator.gate;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;

import dev.zdt.operator.api.v1alpha1.DrainRecord;
import dev.zdt.operator.api.v1alpha1.DrainRecord.ReleasedBy;
import dev.zdt.operator.gate.GateFixture.Answer;
import dev.zdt.operator.testing.KubeApiServerResource;
import io.fabric8.kubernetes.api.model.Pod;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.junit.QuarkusTest;

/**
 * The gate against a real kube-apiserver + etcd. The test plays kubelet and EndpointSlice
 * controller: it terminates pods (a finalizer keeps them terminating), writes the slices, and
 * calls the gate as a preStop hook does.
 */
@QuarkusTest
@QuarkusTestResource(value = KubeApiServerResource.class, restrictToAnnotatedClass = false)
class DrainGateTest extends GateTestBase {

    static final long P_NANOS = TimeUnit.SECONDS.toNanos(1);

    private void awaitHeld(int n) {
        await().atMost(Duration.ofSeconds(5)).until(() -> gate.held() == n);
    }

    private static void assertStillHeld(Duration during, CompletableFuture<?>... calls) {
        await().during(during).atMost(during.plusSeconds(2)).until(() -> List.of(calls).stream().noneMatch(CompletableFuture::isDone));
    }

    /** App "shop" (verify: endpoints) whose EndpointSlice offers every named pod as ready. */
    private List<Pod> readyShop(String... names) {
        return readyShop(8, names);
    }

    @Test
    void releasedVerifiedOncePropagationPassedAfterTheSliceMarksThePodNotReady() throws Exception {
        List<Pod> shop = readyShop("shop-a", "shop-b");
        Pod a = shop.get(0);
        Pod b = shop.get(1);
        f.terminate(a);

        CompletableFuture<Answer> call = f.callApp("shop");
        awaitHeld(1);
        assertStillHeld(Duration.ofSeconds(1), call);

        long removed = System.nanoTime();
        f.slice("shop", GateFixture.terminating(a), GateFixture.ready(b));
        Answer answer = call.get(10, TimeUnit.SECONDS);

        assertThat(answer.status()).isEqualTo(200);
        assertThat(answer.body()).startsWith("Verified").contains("shop-a out of the EndpointSlices");
        assertThat(answer.receivedNanos() - removed).as("P after removal, well before H")
                .isGreaterThanOrEqualTo(P_NANOS).isLessThan(TimeUnit.SECONDS.toNanos(4));
        DrainRecord record = awaitDrainRecord("shop", "shop-a");
        assertThat(record.getReleasedBy()).isEqualTo(ReleasedBy.VERIFIED);
        assertThat(record.getHeldSeconds()).isGreaterThanOrEqualTo(2.0);
    }

    @Test
    void releasedByTimeoutAtTheHoldBoundWhileTheSliceStillListsThePod() throws Exception {
        f.app("cart", ENDPOINTS, "");
        Pod a = f.pod("cart", "cart-a", 3);
        Pod b = f.pod("cart", "cart-b", 3);
        f.slice("cart", GateFixture.ready(a), GateFixture.ready(b));
        f.terminate(a);

        long sent = System.nanoTime();
        Answer answer = f.callApp("cart").get(10, TimeUnit.SECONDS);

        assertThat(answer.status()).isEqualTo(200);
        assertThat(answer.body()).startsWith("Timeout").contains("hold bound 3.0s reached")
                .contains("still offer cart-a as ready");
        assertThat(answer.receivedNanos() - sent).isGreaterThanOrEqualTo(TimeUnit.SECONDS.toNanos(3))
                .isLessThan(TimeUnit.MILLISECONDS.toNanos(4500));
        assertThat(awaitDrainRecord("cart", "cart-a").getReleasedBy()).isEqualTo(ReleasedBy.TIMEOUT);
        await().atMost(Duration.ofSeconds(10)).until(() -> !f.events("DrainHoldTimeout").isEmpty());
        assertThat(f.events("DrainHoldTimeout").get(0).getNote()).contains("cart-a");
    }

    /**
     * A stopping replica waits, before its drain reporter stops, until the gate holds no call: the
     * drain helper may close a call itself at the end of its hold, a moment before the gate's own
     * pass at the bound, and that release must still get its record. The wait ends with the
     * release, not before, and not later than its limit.
     */
    @Test
    void theShutdownWaitLastsUntilNoCallIsHeldAndNoLongerThanItsLimit() throws Exception {
        f.app("till", ENDPOINTS, "");
        Pod a = f.pod("till", "till-a", 3);
        Pod b = f.pod("till", "till-b", 3);
        f.slice("till", GateFixture.ready(a), GateFixture.ready(b));
        f.terminate(a);
        long sent = System.nanoTime();
        CompletableFuture<Answer> call = f.callApp("till");
        awaitHeld(1);

        long started = System.nanoTime();
        assertThat(gate.awaitNoneHeld(Duration.ofMillis(500))).as("held after a 0.5 s limit").isEqualTo(1);
        assertThat(System.nanoTime() - started).isLessThan(TimeUnit.SECONDS.toNanos(2));
        assertThat(call).isNotDone();

        assertThat(gate.awaitNoneHeld(Duration.ofSeconds(10))).isZero();
        // The wait ends with the release at the 3 s bound, not before. The answer reaches the client
        // a moment after the gate let go of the call, so its arrival is awaited, not assumed.
        assertThat(System.nanoTime() - sent).as("the wait lasted until the hold bound")
                .isGreaterThanOrEqualTo(TimeUnit.SECONDS.toNanos(3));
        Answer answer = call.get(2, TimeUnit.SECONDS);
        assertThat(answer.body()).startsWith("Timeout");
        assertThat(awaitDrainRecord("till", "till-a").getReleasedBy()).isEqualTo(ReleasedBy.TIMEOUT);
    }

    /**
     * A pass run by the gate's own timer that still holds must set the next one: here the timer
     * set for shop-a's propagation finds shop-b still offered, and nothing changes afterwards, so
     * only the next timer can end the hold at its bound.
     */
    @Test
    void aTimedPassThatStillHoldsSetsTheTimerForTheBound() throws Exception {
        List<Pod> shop = readyShop(4, "shop-a", "shop-b", "shop-c");
        Pod a = shop.get(0);
        Pod b = shop.get(1);
        Pod c = shop.get(2);
        f.terminate(a);
        f.terminate(b);

        long sent = System.nanoTime();
        CompletableFuture<Answer> call = f.callApp("shop");
        awaitHeld(1);
        f.slice("shop", GateFixture.terminating(a), GateFixture.ready(b), GateFixture.ready(c));

        Answer answer = call.get(10, TimeUnit.SECONDS);
        assertThat(answer.body()).startsWith("Timeout").contains("still offer shop-b as ready");
        assertThat(answer.receivedNanos() - sent).as("the bound of 4 s, not the next unrelated event")
                .isGreaterThanOrEqualTo(TimeUnit.SECONDS.toNanos(4)).isLessThan(TimeUnit.MILLISECONDS.toNanos(5500));
    }

    @Test
    void unknownAppIsAnswered404AtOnce() throws Exception {
        long sent = System.nanoTime();
        Answer answer = f.callApp("nobody").get(5, TimeUnit.SECONDS);
        assertThat(answer.status()).isEqualTo(404);
        assertThat(answer.body()).contains("no ZeroDowntimeApp " + f.ns + "/nobody");
        assertThat(answer.receivedNanos() - sent).isLessThan(TimeUnit.MILLISECONDS.toNanos(500));

        f.app("shop", ENDPOINTS, "");
        // An unknown app is a 404 too: wait for the answer that says the app is known.
        await().atMost(Duration.ofSeconds(10)).until(() -> f.callPod("shop", "stranger").get().body()
                .contains("is not a pod of ZeroDowntimeApp"));
        assertThat(f.callPod("shop", "stranger").get().status()).isEqualTo(404);
    }

    @Test
    void aPodOfOursThatIsNotTerminatingIsAnswered409AfterTheCacheAllowance() throws Exception {
        f.app("shop", ENDPOINTS, "");
        f.pod("shop", "shop-a", 8);
        await().atMost(Duration.ofSeconds(10)).until(() -> f.callPod("shop", "shop-a").get().status() != 404);

        long sent = System.nanoTime();
        Answer named = f.callPod("shop", "shop-a").get(5, TimeUnit.SECONDS);
        assertThat(named.status()).isEqualTo(409);
        assertThat(named.body()).contains("shop-a of " + f.ns + "/shop is not terminating");
        assertThat(named.receivedNanos() - sent).as("the claim-wait of 1 s, not a hold")
                .isGreaterThanOrEqualTo(TimeUnit.MILLISECONDS.toNanos(900)).isLessThan(TimeUnit.SECONDS.toNanos(3));

        Answer unnamed = f.callApp("shop").get(5, TimeUnit.SECONDS);
        assertThat(unnamed.status()).isEqualTo(409);
        assertThat(unnamed.body()).contains("no terminating pod of " + f.ns + "/shop");
        await().atMost(Duration.ofSeconds(10)).until(() -> !f.events("GateCallUnattributed").isEmpty());
    }

    @Test
    void waitsForItsPodWhenTheCacheShowsTheTerminationLate() throws Exception {
        List<Pod> shop = readyShop("shop-a", "shop-b");
        Pod a = shop.get(0);
        Pod b = shop.get(1);

        // The kubelet can call before this replica's informer shows the deletion.
        CompletableFuture<Answer> call = f.callApp("shop");
        awaitHeld(1);
        f.terminate(a);
        assertStillHeld(Duration.ofSeconds(1), call);
        f.slice("shop", GateFixture.terminating(a), GateFixture.ready(b));

        Answer answer = call.get(10, TimeUnit.SECONDS);
        assertThat(answer.status()).isEqualTo(200);
        assertThat(answer.body()).startsWith("Verified").contains("shop-a");
    }

    @Test
    void aCallerCannotShortenAHold() throws Exception {
        List<Pod> shop = readyShop("shop-a", "shop-b");
        Pod a = shop.get(0);
        Pod b = shop.get(1);
        f.terminate(a);

        CompletableFuture<Answer> kubelet = f.callApp("shop");
        awaitHeld(1);
        CompletableFuture<Answer> again = f.callApp("shop");
        CompletableFuture<Answer> third = f.callApp("shop");
        CompletableFuture<Answer> named = f.callPod("shop", "shop-a");
        awaitHeld(4);
        // Naming another pod, one that is not terminating, is refused and changes nothing.
        Answer other = f.callPod("shop", "shop-b").get(5, TimeUnit.SECONDS);
        assertThat(other.status()).isEqualTo(409);
        assertStillHeld(Duration.ofSeconds(1), kubelet, again, third, named);

        long removed = System.nanoTime();
        f.slice("shop", GateFixture.terminating(a), GateFixture.ready(b));
        for (CompletableFuture<Answer> call : List.of(kubelet, again, third, named)) {
            Answer answer = call.get(10, TimeUnit.SECONDS);
            assertThat(answer.status()).isEqualTo(200);
            assertThat(answer.body()).startsWith("Verified");
            assertThat(answer.receivedNanos() - removed).isGreaterThanOrEqualTo(P_NANOS);
        }
    }

    @Test
    void aCallForTheAppWaitsForEveryPodTerminatingWithIt() throws Exception {
        List<Pod> shop = readyShop("shop-a", "shop-b", "shop-c");
        Pod a = shop.get(0);
        Pod b = shop.get(1);
        Pod c = shop.get(2);
        f.terminate(a);
        f.terminate(b);

        CompletableFuture<Answer> first = f.callApp("shop");
        CompletableFuture<Answer> second = f.callApp("shop");
        awaitHeld(2);
        // Only shop-a leaves: neither call knows for sure it is shop-a's, so both keep holding.
        f.slice("shop", GateFixture.terminating(a), GateFixture.ready(b), GateFixture.ready(c));
        assertStillHeld(Duration.ofMillis(2500), first, second);

        f.slice("shop", GateFixture.terminating(a), GateFixture.terminating(b), GateFixture.ready(c));
        assertThat(first.get(10, TimeUnit.SECONDS).body()).startsWith("Verified");
        assertThat(second.get(10, TimeUnit.SECONDS).body()).startsWith("Verified");
    }

    /**
     * The httpGet mode's race, as seen on a cluster: the caller's deletion has not reached this
     * replica's cache, while the app's other terminating pods (drained through another replica)
     * are already verified out of rotation. An app-scoped call must not be attributed to one of
     * those and answered at once: it waits out the cache allowance, sees its own pod, and holds
     * for it. Propagation 0 makes the siblings verified the moment the slice drops them, as a
     * front end that was asked and no longer lists them does.
     */
    @Test
    void anAppScopedCallHoldsForAPodWhoseDeletionTheCacheShowsLate() throws Exception {
        f.app("shop", """
                provider: generic
                propagationSeconds: 0
                verify: endpoints
                """, "");
        List<Pod> shop = java.util.stream.Stream.of("shop-a", "shop-b", "shop-x", "shop-y")
                .map(name -> f.pod("shop", name, 8)).toList();
        Pod a = shop.get(0);
        Pod b = shop.get(1);
        Pod x = shop.get(2);
        Pod y = shop.get(3);
        f.terminate(a);
        f.terminate(b);
        f.slice("shop", GateFixture.terminating(a), GateFixture.terminating(b), GateFixture.ready(x),
                GateFixture.ready(y));

        CompletableFuture<Answer> call = f.callApp("shop");
        await().atMost(Duration.ofSeconds(5)).until(() -> gate.held() == 1 || call.isDone());
        assertThat(call).as("answered before its own pod's deletion could reach the cache").isNotDone();
        f.terminate(x); // the caller, seen by this replica only after its call arrived
        assertStillHeld(Duration.ofMillis(2500), call);

        f.slice("shop", GateFixture.terminating(a), GateFixture.terminating(b), GateFixture.terminating(x),
                GateFixture.ready(y));
        Answer answer = call.get(10, TimeUnit.SECONDS);
        assertThat(answer.status()).isEqualTo(200);
        assertThat(answer.body()).startsWith("Verified").contains("shop-x");
    }

    @Test
    void theLastServerIsReleasedAsBypassedWithAnEvent() throws Exception {
        f.app("solo", ENDPOINTS, "");
        Pod a = f.pod("solo", "solo-a", 8);
        f.slice("solo", GateFixture.ready(a));
        f.terminate(a);
        CompletableFuture<Answer> call = f.callApp("solo");
        awaitHeld(1);
        f.slice("solo", GateFixture.terminating(a));

        Answer answer = call.get(10, TimeUnit.SECONDS);
        assertThat(answer.status()).isEqualTo(200);
        assertThat(answer.body()).startsWith("Bypassed").contains("no other ready endpoint");
        assertThat(awaitDrainRecord("solo", "solo-a").getReleasedBy()).isEqualTo(ReleasedBy.BYPASSED);
        await().atMost(Duration.ofSeconds(10)).until(() -> !f.events("NoOtherReadyEndpoint").isEmpty());
    }

    @Test
    void lastDrainsKeepsTheNewestTen() throws Exception {
        f.app("many", """
                provider: generic
                propagationSeconds: 0
                verify: endpoints
                """, "");
        Pod keep = f.pod("many", "many-keep", 8);
        for (int i = 0; i < 12; i++) {
            Pod p = f.pod("many", "many-" + i, 8);
            f.slice("many", GateFixture.ready(p), GateFixture.ready(keep));
            f.terminate(p);
            CompletableFuture<Answer> call = f.callPod("many", p.getMetadata().getName());
            f.slice("many", GateFixture.terminating(p), GateFixture.ready(keep));
            assertThat(call.get(10, TimeUnit.SECONDS).body()).startsWith("Verified");
        }
        await().atMost(Duration.ofSeconds(10)).until(() -> {
            var drains = f.read("many").getStatus().getLastDrains();
            return drains != null && !drains.isEmpty() && "many-11".equals(drains.get(0).getPod());
        });
        List<DrainRecord> drains = f.read("many").getStatus().getLastDrains();
        assertThat(drains).hasSize(DrainReporter.KEEP);
        assertThat(drains.get(drains.size() - 1).getPod()).isEqualTo("many-2");
        // The reconciler's server-side-applied status is still there next to the gate's field.
        assertThat(f.read("many").getStatus().getDrainBudget()).isNotNull();
    }

    @Test
    void metricsCountEachHoldAndDrainByOutcome() throws Exception {
        // The meters exist from the start: compare counts, not names.
        double verified = metric("zdt_drains_total{outcome=\"Verified\"}");
        double verifiedHolds = metric("zdt_gate_hold_seconds_count{outcome=\"Verified\"}");
        double timeouts = metric("zdt_drains_total{outcome=\"Timeout\"}");
        List<Pod> shop = readyShop("shop-a", "shop-b");
        Pod a = shop.get(0);
        Pod b = shop.get(1);
        f.terminate(a);
        CompletableFuture<Answer> call = f.callApp("shop");
        awaitHeld(1);
        assertThat(metric("zdt_gate_holds_in_flight")).isEqualTo(1.0);
        f.slice("shop", GateFixture.terminating(a), GateFixture.ready(b));
        call.get(10, TimeUnit.SECONDS);

        assertThat(metric("zdt_gate_holds_in_flight")).isEqualTo(0.0);
        assertThat(metric("zdt_drains_total{outcome=\"Verified\"}")).isEqualTo(verified + 1);
        assertThat(metric("zdt_gate_hold_seconds_count{outcome=\"Verified\"}")).isEqualTo(verifiedHolds + 1);
        assertThat(metric("zdt_drains_total{outcome=\"Timeout\"}")).isEqualTo(timeouts);
    }

    @Test
    void metricsAndHealthAreOnTheManagementPortOnlyNotOnTheGatePort() throws Exception {
        // The gate Service exposes the HTTP port to every pod and node of the cluster: nothing there but the gate.
        // Not even with a scraper's token.
        var scraper = java.util.Map.of("Authorization", "Bearer " + dev.zdt.operator.testing.MetricsReader.token(client));
        for (String path : List.of("/q/metrics", "/q/health", "/q/health/ready")) {
            assertThat(f.get(base.toURI().resolve(path)).statusCode()).as("gate port %s", path).isEqualTo(404);
            assertThat(f.get(base.toURI().resolve(path), scraper).statusCode()).as("gate port %s", path).isEqualTo(404);
        }
        // On the management port health is open (the kubelet probes it without credentials), metrics are not.
        assertThat(f.get(management.toURI().resolve("/q/health/ready")).statusCode()).isEqualTo(200);
        assertThat(f.get(management.toURI().resolve("/q/metrics")).statusCode()).isEqualTo(401);
        assertThat(metrics()).contains("zdt_gate_holds_in_flight");
    }
}
