package dev.zdt.operator.gate;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.time.Instant;
import java.time.InstantSource;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;

import org.junit.jupiter.api.Test;

import dev.zdt.operator.Constants;
import dev.zdt.operator.api.v1alpha1.DrainRecord.ReleasedBy;
import dev.zdt.operator.api.v1alpha1.Provider;
import dev.zdt.operator.api.v1alpha1.ZeroDowntimeApp;
import dev.zdt.operator.gate.AppHolds.Call;
import dev.zdt.operator.gate.AppHolds.Pass;
import dev.zdt.operator.ingress.IngressObservation;
import dev.zdt.operator.ingress.IngressVerifier;
import dev.zdt.operator.ingress.ReplicaAnswer;
import dev.zdt.operator.metrics.GateMetrics;
import dev.zdt.operator.testing.Apps;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodBuilder;
import io.fabric8.kubernetes.api.model.discovery.v1.Endpoint;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointBuilder;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointSliceBuilder;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;

/**
 * The gate's hold logic without a cluster: the test is the informer cache (pods, EndpointSlices,
 * the app) and the clock, and runs the passes the gate's thread would run, at the moments it
 * chooses. Each test tries to get a call answered earlier (or later) than the safety claims allow.
 */
class AppHoldsTest {

    private static final Instant T0 = Instant.parse("2026-11-23T10:00:00Z");
    private static final Duration CLAIM_WAIT = Duration.ofSeconds(3);
    private static final String NS = "web";
    /** Propagation 2 s; without a hold annotation a pod holds the budget's P + margin 5 s = 7 s. */
    private static final String ENDPOINTS = """
            provider: generic
            propagationSeconds: 2
            verify: endpoints
            """;
    /** Propagation 0: a pod out of the slices is verified at once, as in the cache-lag race seen on a cluster. */
    private static final String ENDPOINTS_P0 = """
            provider: generic
            propagationSeconds: 0
            verify: endpoints
            """;

    private final FakeClock clock = new FakeClock();
    private final GateMetrics metrics = new GateMetrics(new SimpleMeterRegistry());
    private final Cache cache = new Cache();
    private AppHolds holds = holds(100, 100, 100);

    private AppHolds holds(int maxHolds, int maxHoldsPerNamespace, int maxHoldsPerApp) {
        IngressVerifier traefik = new StubVerifier();
        return new AppHolds(CLAIM_WAIT, new AppHolds.Limits(maxHolds, maxHoldsPerNamespace, maxHoldsPerApp),
                p -> p == Provider.TRAEFIK ? Optional.of(traefik) : Optional.empty(), metrics, clock);
    }

    // ---------------------------------------------------------------- the bound

    @Test
    void aPodStillInRotationIsReleasedByTimeoutAtExactlyArrivalPlusItsHold() {
        cache.app("shop", ENDPOINTS);
        cache.readyPod("shop", "shop-a", 12);
        cache.readyPod("shop", "shop-b", 12);
        at(0.5);
        cache.terminate("shop-a");
        at(1);
        Call call = callPod("shop", "shop-a");

        assertThat(pass("shop").wakeAt()).as("the gate's timer is set for the bound").isEqualTo(t(13));
        heldThroughout(call, "shop", 1, 12.999);
        at(13);
        pass("shop");
        assertThat(answer(call).text()).startsWith("Timeout after 12.0s")
                .contains("hold bound 12.0s reached").contains("still offer shop-a as ready");
        assertThat(answer(call).decidedAt()).isEqualTo(t(13));
    }

    @Test
    void aPodWithoutAHoldAnnotationHoldsTheAppsBudget() {
        cache.app("shop", ENDPOINTS, "");
        cache.readyPod("shop", "shop-a", null);
        cache.readyPod("shop", "shop-b", null);
        cache.terminate("shop-a");
        Call call = callPod("shop", "shop-a");

        heldThroughout(call, "shop", 0, 6.999);
        at(7);
        Pass pass = pass("shop");
        assertThat(answer(call).text()).startsWith("Timeout after 7.0s");
        assertThat(pass.drains()).singleElement().satisfies(d -> {
            assertThat(d.getPod()).isEqualTo("shop-a");
            assertThat(d.getReleasedBy()).isEqualTo(ReleasedBy.TIMEOUT);
        });
        assertThat(pass.warnings()).extracting(AppHolds.Warning::reason).containsExactly(AppHolds.HOLD_TIMEOUT);
    }

    @Test
    void nothingOnThePodLengthensTheHoldBeyondTheAppsBudget() {
        // A tenant who can write pod annotations tries to keep the gate busy for ever.
        cache.app("shop", ENDPOINTS, "");
        cache.readyPod("shop", "shop-a", Integer.MAX_VALUE);
        cache.readyPod("shop", "shop-b", 12);
        cache.terminate("shop-a");
        Call call = callPod("shop", "shop-a");

        assertThat(pass("shop").wakeAt()).as("the budget's 7 s, not the annotation's 2^31 s").isEqualTo(t(7));
        heldThroughout(call, "shop", 0, 6.999);
        at(7);
        pass("shop");
        assertThat(answer(call).text()).startsWith("Timeout after 7.0s");
    }

    @Test
    void aLowerHoldAnnotationShortensTheHoldAndZeroOrGarbageIsIgnored() {
        // Pods created before the budget grew keep the hold their grace period was sized for.
        cache.app("shop", ENDPOINTS, "drain:\n  holdSeconds: 30");
        cache.readyPod("shop", "shop-a", 9);
        cache.readyPod("shop", "shop-b", 0);
        cache.readyPod("shop", "shop-c", -5);
        cache.readyPod("shop", "shop-d", null);
        for (String pod : List.of("shop-a", "shop-b", "shop-c", "shop-d")) {
            cache.terminate(pod);
        }
        Call a = callPod("shop", "shop-a");
        Call b = callPod("shop", "shop-b");
        Call c = callPod("shop", "shop-c");
        Call d = callPod("shop", "shop-d");
        pass("shop");
        at(9);
        pass("shop");
        assertThat(answer(a).text()).startsWith("Timeout after 9.0s");
        assertThat(b.answer).as("a zero annotation does not release at once").isNotDone();
        assertThat(c.answer).as("nor does a negative one").isNotDone();
        at(29.999);
        pass("shop");
        assertThat(List.of(b, c, d)).allSatisfy(x -> assertThat(x.answer).isNotDone());
        at(30);
        pass("shop");
        assertThat(List.of(b, c, d)).allSatisfy(x -> assertThat(answer(x).text()).startsWith("Timeout after 30.0s"));
    }

    // ---------------------------------------------------------------- verification

    @Test
    void aCallIsReleasedOnlyOncePropagationHasPassedSinceItsPodLeftTheSlices() {
        cache.app("shop", ENDPOINTS);
        cache.readyPod("shop", "shop-a", 12);
        cache.readyPod("shop", "shop-b", 12);
        cache.terminate("shop-a");
        Call call = callPod("shop", "shop-a");
        heldThroughout(call, "shop", 0, 3);

        at(3.5);
        cache.leaveSlices("shop-a");
        assertThat(pass("shop").wakeAt()).as("wakes when P has passed").isEqualTo(t(5.5));
        heldThroughout(call, "shop", 3.5, 5.499);
        at(5.5);
        pass("shop");
        assertThat(answer(call).text()).startsWith("Verified after 5.5s").contains("shop-a out of the EndpointSlices for 2.0s");
        assertThat(metrics.inFlight()).isZero();
    }

    @Test
    void aPodThatComesBackIntoTheSlicesStartsItsPropagationTimeAgain() {
        cache.app("shop", ENDPOINTS);
        cache.readyPod("shop", "shop-a", 12);
        cache.readyPod("shop", "shop-b", 12);
        cache.terminate("shop-a");
        Call call = callPod("shop", "shop-a");
        cache.leaveSlices("shop-a");
        pass("shop");
        at(1.5);
        cache.ready.put("shop-a", "shop"); // an older slice version, seen again
        pass("shop");
        at(2);
        cache.leaveSlices("shop-a");
        heldThroughout(call, "shop", 2, 3.999);
        at(4);
        pass("shop");
        assertThat(answer(call).text()).startsWith("Verified");
    }

    /**
     * The gate runs a pass at a call's arrival, on cache changes and at the wake-up the last pass
     * asked for; with a quiet cache only the wake-ups remain. They alone must answer each call on time.
     */
    @Test
    void theWakeUpsAPassAsksForAloneAnswerEveryCallOnTime() {
        cache.app("shop", ENDPOINTS);
        cache.readyPod("shop", "shop-a", 12);
        cache.readyPod("shop", "shop-b", 20);
        cache.readyPod("shop", "shop-c", 12);
        cache.terminate("shop-a");
        cache.terminate("shop-b");
        Call a = callPod("shop", "shop-a");
        Call b = callPod("shop", "shop-b");
        Call c = callPod("shop", "shop-c"); // never terminates: 409 at the claim wait
        cache.leaveSlices("shop-a");
        Map<Call, Instant> answered = new LinkedHashMap<>();
        Pass p = pass("shop");
        while (p.holding()) {
            assertThat(p.wakeAt()).as("a pass that holds asks for a wake-up").isNotNull().isAfter(clock.now);
            clock.now = p.wakeAt();
            p = pass("shop");
            for (Call call : List.of(a, b, c)) {
                if (call.answer.isDone()) {
                    answered.putIfAbsent(call, clock.now);
                }
            }
        }
        assertThat(answered).containsEntry(a, t(2)).containsEntry(c, t(3)).containsEntry(b, t(20));
        assertThat(answer(a).text()).startsWith("Verified");
        assertThat(answer(b).text()).startsWith("Timeout after 20.0s");
        assertThat(answer(c).status()).isEqualTo(409);
    }

    // ---------------------------------------------------------------- other calls

    @Test
    void aDuplicateCallNeitherShortensNorExtendsTheFirstHold() {
        cache.app("shop", ENDPOINTS);
        cache.readyPod("shop", "shop-a", 12);
        cache.readyPod("shop", "shop-b", 12);
        cache.terminate("shop-a");
        Call first = callPod("shop", "shop-a");
        pass("shop");
        at(5);
        Call duplicate = callPod("shop", "shop-a");
        Call unnamed = callApp("shop");
        heldThroughout(first, "shop", 5, 11.999);
        at(12);
        pass("shop");
        assertThat(answer(first).text()).startsWith("Timeout after 12.0s");
        assertThat(duplicate.answer).as("a later call holds its own bound").isNotDone();
        assertThat(unnamed.answer).isNotDone();
        heldThroughout(duplicate, "shop", 12, 16.999);
        assertThat(unnamed.answer).isNotDone();
        at(17);
        pass("shop");
        assertThat(answer(duplicate).text()).startsWith("Timeout after 12.0s");
        assertThat(answer(unnamed).text()).startsWith("Timeout after 12.0s");
    }

    @Test
    void aCallNamingAnotherPodNeverShortensAHold() {
        cache.app("shop", ENDPOINTS);
        cache.readyPod("shop", "shop-a", 12);
        cache.readyPod("shop", "shop-b", 12);
        cache.readyPod("shop", "shop-c", 12);
        cache.terminate("shop-a");
        cache.terminate("shop-b");
        Call a = callPod("shop", "shop-a");
        pass("shop");

        // shop-b's own call is released as soon as shop-b is verified; shop-a's is not.
        at(1);
        Call b = callPod("shop", "shop-b");
        cache.leaveSlices("shop-b");
        pass("shop");
        at(3);
        pass("shop");
        assertThat(answer(b).text()).startsWith("Verified");
        assertThat(a.answer).isNotDone();

        // A call naming a pod that is not terminating is refused and changes nothing either.
        Call c = callPod("shop", "shop-c");
        at(6);
        pass("shop");
        assertThat(answer(c).status()).isEqualTo(409);
        heldThroughout(a, "shop", 6, 11.999);
        at(12);
        pass("shop");
        assertThat(answer(a).text()).startsWith("Timeout");
    }

    // ---------------------------------------------------------------- app-scoped calls

    /**
     * The httpGet mode's race: the caller's deletion has not reached this cache, while the app's
     * other terminating pods are already verified. Whatever moment the passes run at, the call is
     * not released before its settle time, and once its own pod shows up it holds for it.
     */
    @Test
    void anAppScopedCallIsNeverReleasedBeforeItsSettleTimeEvenWithItsSiblingsVerified() {
        cache.app("shop", ENDPOINTS_P0);
        for (String pod : List.of("shop-a", "shop-b", "shop-x", "shop-y")) {
            cache.readyPod("shop", pod, 12);
        }
        cache.terminate("shop-a");
        cache.terminate("shop-b");
        cache.leaveSlices("shop-a");
        cache.leaveSlices("shop-b");
        Call call = callApp("shop");

        Pass first = pass("shop");
        assertThat(call.answer).as("the siblings are verified, but the caller may not be one of them").isNotDone();
        assertThat(first.wakeAt()).as("wakes at the settle time").isEqualTo(t(3));
        heldThroughout(call, "shop", 0, 0.999);
        at(1);
        cache.terminate("shop-x"); // the caller, seen only now
        heldThroughout(call, "shop", 1, 8);
        at(8.5);
        cache.leaveSlices("shop-x");
        pass("shop");
        assertThat(answer(call).text()).startsWith("Verified").contains("shop-x out of the EndpointSlices");
    }

    @Test
    void anAppScopedCallWithItsTargetsVerifiedIsReleasedAtItsSettleTimeNotBefore() {
        cache.app("shop", ENDPOINTS_P0);
        cache.readyPod("shop", "shop-a", 12);
        cache.readyPod("shop", "shop-b", 12);
        cache.terminate("shop-a");
        cache.leaveSlices("shop-a");
        at(0.2);
        Call call = callApp("shop");

        heldThroughout(call, "shop", 0.2, 3.199);
        at(3.2);
        pass("shop");
        assertThat(answer(call).text()).startsWith("Verified after 3.0s");
    }

    @Test
    void anAppScopedCallWaitsForEveryPodThatStartsTerminatingWithinTheAllowance() {
        cache.app("shop", ENDPOINTS);
        for (String pod : List.of("shop-a", "shop-b", "shop-c", "shop-d")) {
            cache.readyPod("shop", pod, 12);
        }
        cache.terminate("shop-a");
        Call call = callApp("shop");
        pass("shop");
        at(2.5);
        cache.terminate("shop-b"); // within the allowance: waited for
        pass("shop");
        at(3.5);
        cache.terminate("shop-c"); // after it: not this call's pod
        pass("shop");
        cache.leaveSlices("shop-a");
        cache.leaveSlices("shop-c");
        heldThroughout(call, "shop", 3.5, 7);
        cache.leaveSlices("shop-b");
        heldThroughout(call, "shop", 7, 8.999);
        at(9);
        pass("shop");
        assertThat(answer(call).text()).startsWith("Verified").contains("shop-a").contains("shop-b")
                .doesNotContain("shop-c");
    }

    // ---------------------------------------------------------------- the cache

    @Test
    void aPodThatLeavesTheCacheWhileItsCallWaitsIsNotTakenOutOfRotation() {
        cache.app("shop", ENDPOINTS);
        cache.readyPod("shop", "shop-a", 12);
        cache.readyPod("shop", "shop-b", 12);
        cache.terminate("shop-a");
        Call call = callPod("shop", "shop-a");
        pass("shop");

        at(1);
        cache.leaveCache("shop-a"); // force-deleted, say; the slices still offer it
        heldThroughout(call, "shop", 1, 11.999);
        at(12);
        pass("shop");
        assertThat(answer(call).text()).startsWith("Timeout").contains("still offer shop-a as ready");
    }

    @Test
    void aPodThatLeavesTheCacheStaysATargetOfTheAppScopedCallsThatWaitForIt() {
        cache.app("shop", ENDPOINTS);
        for (String pod : List.of("shop-a", "shop-b", "shop-c")) {
            cache.readyPod("shop", pod, 12);
        }
        cache.terminate("shop-a");
        at(0.5);
        cache.terminate("shop-b");
        Call call = callApp("shop"); // attributed to shop-a, waits for shop-b too
        pass("shop");

        at(1);
        cache.leaveCache("shop-b");
        cache.leaveSlices("shop-a");
        heldThroughout(call, "shop", 1, 11.499);
        at(12.5);
        pass("shop");
        assertThat(answer(call).text()).startsWith("Timeout").contains("still offer shop-b as ready");
    }

    @Test
    void aNamedPodThatNeverShowsTerminatingIsRefused409AfterTheClaimWait() {
        cache.app("shop", ENDPOINTS);
        cache.readyPod("shop", "shop-a", 12);
        cache.readyPod("shop", "shop-b", 12);
        Call call = callPod("shop", "shop-a");

        assertThat(pass("shop").wakeAt()).isEqualTo(t(3));
        heldThroughout(call, "shop", 0, 2.999);
        at(3);
        Pass pass = pass("shop");
        assertThat(answer(call).status()).isEqualTo(409);
        assertThat(answer(call).text()).contains("pod web/shop-a of web/shop is not terminating (waited 3.0s");
        assertThat(pass.warnings()).extracting(AppHolds.Warning::reason).containsExactly(AppHolds.UNATTRIBUTED);
        assertThat(metrics.inFlight()).isZero();
    }

    @Test
    void aNamedPodSeenTerminatingJustBeforeTheClaimWaitEndsIsHeld() {
        cache.app("shop", ENDPOINTS);
        cache.readyPod("shop", "shop-a", 12);
        cache.readyPod("shop", "shop-b", 12);
        Call call = callPod("shop", "shop-a");
        pass("shop");
        at(2.999);
        cache.terminate("shop-a");
        heldThroughout(call, "shop", 2.999, 11.999);
        at(12);
        pass("shop");
        assertThat(answer(call).text()).startsWith("Timeout after 12.0s");
    }

    @Test
    void anAppScopedCallWithNoTerminatingPodIsRefused409AfterTheClaimWait() {
        cache.app("shop", ENDPOINTS);
        cache.readyPod("shop", "shop-a", 12);
        Call call = callApp("shop");
        heldThroughout(call, "shop", 0, 2.999);
        at(3);
        pass("shop");
        assertThat(answer(call).status()).isEqualTo(409);
        assertThat(answer(call).text()).contains("no terminating pod of web/shop to attribute this call to");
    }

    @Test
    void strangersAreAnswered404AtOnce() {
        cache.app("shop", ENDPOINTS);
        cache.readyPod("shop", "shop-a", 12);
        cache.app("cart", ENDPOINTS);
        cache.readyPod("cart", "cart-a", 12);

        assertThat(answer(callApp("nobody")).text()).isEqualTo("no ZeroDowntimeApp web/nobody: the drain gate holds "
                + "only pods of ZeroDowntimeApps\n");
        assertThat(answer(callPod("shop", "shop-z")).text()).contains("pod web/shop-z is not a pod of ZeroDowntimeApp web/shop");
        assertThat(answer(callPod("shop", "cart-a")).status()).as("a pod of another app").isEqualTo(404);
        assertThat(holds.tracks("web/shop")).isFalse();
        assertThat(metrics.inFlight()).isZero();
    }

    @Test
    void anAppDeletedBeforeTheFirstPassOfItsCallStillHoldsByItsLastKnownSpec() {
        cache.app("shop", ENDPOINTS);
        cache.readyPod("shop", "shop-a", 12);
        cache.readyPod("shop", "shop-b", 12);
        cache.terminate("shop-a");
        Call call = callPod("shop", "shop-a");
        cache.apps.remove("shop"); // deleted between the call's arrival and the pass it queued
        heldThroughout(call, "shop", 0, 11.999);
        at(12);
        pass("shop");
        assertThat(answer(call).text()).startsWith("Timeout after 12.0s");
    }

    // ---------------------------------------------------------------- limits

    @Test
    void limitsAnswer429WithoutTouchingOtherAppsOrTheHeldCalls() {
        holds = holds(3, 3, 2);
        cache.app("shop", ENDPOINTS);
        cache.readyPod("shop", "shop-a", 12);
        cache.readyPod("shop", "shop-b", 12);
        cache.app("cart", ENDPOINTS);
        cache.readyPod("cart", "cart-a", 12);
        cache.readyPod("cart", "cart-b", 12);
        cache.terminate("shop-a");
        cache.terminate("cart-a");

        Call shop1 = callPod("shop", "shop-a");
        Call shop2 = callPod("shop", "shop-a");
        Call shop3 = callPod("shop", "shop-a");
        assertThat(answer(shop3).status()).isEqualTo(429);
        assertThat(answer(shop3).text()).contains("app web/shop").contains("zdt.gate.max-holds-per-app=2")
                .contains("2 held for web/shop");
        Call cart1 = callPod("cart", "cart-a");
        assertThat(cart1.answer).as("another app is not limited by shop's calls").isNotDone();
        Call cart2 = callPod("cart", "cart-a");
        assertThat(answer(cart2).status()).as("the limit of the namespace").isEqualTo(429);
        assertThat(answer(cart2).text()).contains("namespace web").contains("zdt.gate.max-holds-per-namespace=3");
        assertThat(metrics.inFlight()).isEqualTo(3);

        heldThroughout(shop1, "shop", 0, 1);
        heldThroughout(cart1, "cart", 1, 2);
        assertThat(shop2.answer).isNotDone();

        cache.leaveSlices("cart-a");
        pass("cart");
        at(4);
        pass("cart");
        assertThat(answer(cart1).text()).startsWith("Verified");
        assertThat(callPod("cart", "cart-a").answer).as("room again once a call is answered").isNotDone();
        assertThat(shop1.answer).isNotDone();
        assertThat(shop2.answer).isNotDone();
    }

    @Test
    void oneNamespaceFillingItsShareLeavesRoomForAnother() {
        holds = holds(5, 2, 2);
        cache.app("shop", ENDPOINTS);
        cache.readyPod("shop", "shop-a", 12);
        cache.terminate("shop-a");
        cache.app("cart", ENDPOINTS);
        cache.readyPod("cart", "cart-a", 12);
        cache.terminate("cart-a");
        cache.app("bank", ENDPOINTS, "drain:\n  holdSeconds: 20", "tenant-a");
        cache.readyPod("bank", "bank-a", 12, "tenant-a");
        cache.terminate("bank-a");

        // The flooding tenant's calls, over two of its apps: its share is full at 2, the rest hold nothing.
        List<Call> flood = new ArrayList<>();
        for (int i = 0; i < 50; i++) {
            flood.add(callPod(i % 2 == 0 ? "shop" : "cart", i % 2 == 0 ? "shop-a" : "cart-a"));
        }
        assertThat(flood.stream().filter(c -> !c.answer.isDone())).hasSize(2);
        assertThat(answer(flood.get(49)).text()).contains("namespace web (zdt.gate.max-holds-per-namespace=2)")
                .doesNotContain("tenant-a");

        Call other = callPod("bank", "bank-a", "tenant-a");
        Call second = callPod("bank", "bank-a", "tenant-a");
        assertThat(List.of(other, second)).as("the other tenant's calls are held")
                .allSatisfy(c -> assertThat(c.answer).isNotDone());
        assertThat(metrics.inFlight()).isEqualTo(4);
    }

    @Test
    void aPodThatProvedWhoItIsMayHoldOnlyAFewCallsForItself() {
        holds = holds(50, 50, 50);
        cache.app("shop", ENDPOINTS);
        cache.readyPod("shop", "shop-a", 12);
        cache.readyPod("shop", "shop-b", 12);
        cache.terminate("shop-a");
        cache.terminate("shop-b");
        // With its own token, a pod floods calls for itself: two are held, the rest 429 at once.
        List<Call> flood = new ArrayList<>();
        for (int i = 0; i < 20; i++) {
            Call c = new Call(NS, "shop", "shop-a", clock.now);
            c.exactUid = "uid-a";
            flood.add(arrive(c));
        }
        assertThat(flood.stream().filter(c -> !c.answer.isDone())).hasSize(AppHolds.MAX_PROVEN_CALLS_PER_POD);
        assertThat(answer(flood.get(19)).status()).isEqualTo(429);
        assertThat(answer(flood.get(19)).text()).contains("pod web/shop-a already has 2 calls held");
        // Another pod of the app is not touched by it, and app tokens (no proven uid) are bounded by the app's limits only.
        Call b = new Call(NS, "shop", "shop-b", clock.now);
        b.exactUid = "uid-b";
        assertThat(arrive(b).answer).isNotDone();
        assertThat(callPod("shop", "shop-a").answer).isNotDone();
    }

    @Test
    void limitsThatLetOneNamespaceFillTheGateAreRefusedAtStartup() {
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> new AppHolds.Limits(100, 200, 10))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("zdt.gate.max-holds-per-namespace (200)");
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> new AppHolds.Limits(100, 10, 20))
                .isInstanceOf(IllegalArgumentException.class);
    }

    // ---------------------------------------------------------------- ingress

    @Test
    void ingressVerifyReleasesOnlyOnceTheFrontEndNoLongerListsThePod() {
        twoShopPods();
        cache.terminate("shop-a");
        Call call = callPod("shop", "shop-a");
        Pass first = pass("shop");
        assertThat(first.askIngress()).as("asks the front end while holding").isNotNull();

        cache.leaveSlices("shop-a");
        at(1);
        cache.ingress = IngressObservation.unknown("connection refused", t(1));
        heldThroughout(call, "shop", 1, 2);
        cache.ingress = answers(2, routes("traefik-0", "shop-a", "shop-b"));
        heldThroughout(call, "shop", 2, 3);
        at(3.5);
        cache.ingress = answers(3.5, routes("traefik-0", "shop-b"));
        pass("shop");
        assertThat(answer(call).text()).startsWith("Verified").contains("no longer routed to by Traefik");
    }

    @Test
    void anIngressAnswerThatNoLongerListsAPodStillInTheSlicesDoesNotReleaseIt() {
        twoShopPods();
        cache.terminate("shop-a");
        Call call = callPod("shop", "shop-a");
        cache.ingress = answers(0, routes("traefik-0", "shop-b"));
        heldThroughout(call, "shop", 0, 11.999);
        at(12);
        pass("shop");
        assertThat(answer(call).text()).startsWith("Timeout");
    }

    @Test
    void anIngressAnswerAskedBeforeThePodStartedTerminatingDoesNotReleaseIt() {
        twoShopPods();
        // Kept from an earlier drain: asked before shop-a was routed to, so it does not list it.
        cache.ingress = answers(0, routes("traefik-0", "shop-b"));
        at(1);
        cache.terminate("shop-a");
        Call call = callPod("shop", "shop-a");
        cache.leaveSlices("shop-a");
        heldThroughout(call, "shop", 1, 3);
        cache.ingress = answers(3, routes("traefik-0", "shop-b"));
        at(3);
        pass("shop");
        assertThat(answer(call).text()).startsWith("Verified");
    }

    /** App shop (traefik, verify: ingress), hold 12 s, with shop-a and shop-b ready. */
    private void twoShopPods() {
        cache.app("shop", """
                provider: traefik
                verify: ingress
                """);
        cache.readyPod("shop", "shop-a", 12);
        cache.readyPod("shop", "shop-b", 12);
    }

    /** shop-a and shop-b serving, shop-a terminating and out of the slices, its call held. */
    private Call drainingShopA() {
        twoShopPods();
        cache.terminate("shop-a");
        Call call = callPod("shop", "shop-a");
        cache.leaveSlices("shop-a");
        return call;
    }

    @Test
    void everyReplicaMustStopRoutingBeforeAPodIsReleased() {
        Call call = drainingShopA();
        cache.ingress = answers(0, routes("traefik-0", "shop-a", "shop-b"), routes("traefik-1", "shop-a", "shop-b"));
        heldThroughout(call, "shop", 0, 1);
        // traefik-0 applied the change; traefik-1 lags.
        cache.ingress = answers(1, routes("traefik-0", "shop-b"), routes("traefik-1", "shop-a", "shop-b"));
        heldThroughout(call, "shop", 1, 5);
        cache.ingress = answers(5, routes("traefik-0", "shop-b"), routes("traefik-1", "shop-b"));
        at(5);
        pass("shop");
        assertThat(answer(call).text()).startsWith("Verified")
                .contains("shop-a (" + cache.ip("shop-a") + ") no longer routed to by Traefik (all 2 replicas asked)");
    }

    @Test
    void eachReplicasPropagationIsMeasuredFromTheHoldsStart() {
        Call call = drainingShopA();
        cache.ingress = answers(0, routes("traefik-0", "shop-a", "shop-b"), routes("traefik-1", "shop-a", "shop-b"));
        heldThroughout(call, "shop", 0, 2);
        cache.ingress = answers(2, routes("traefik-0", "shop-b"), routes("traefik-1", "shop-a", "shop-b"));
        heldThroughout(call, "shop", 2, 5);
        cache.ingress = answers(5, routes("traefik-0", "shop-b"), routes("traefik-1", "shop-b"));
        at(5);
        Pass released = pass("shop");
        assertThat(answer(call).text()).startsWith("Verified");
        assertThat(released.measured()).singleElement().satisfies(m -> {
            assertThat(m.pod()).isEqualTo("shop-a");
            assertThat(m.frontEnd()).isEqualTo("Traefik");
            assertThat(m.holdSeconds()).isEqualTo(12);
            assertThat(m.seconds()).containsEntry("traefik-0", 2.0).containsEntry("traefik-1", 5.0);
            assertThat(m.late()).isEmpty();
        });
        assertThat(pass("shop").measured()).as("measured once").isEmpty();
    }

    @Test
    void aReplicaStillRoutingWhenTheHoldEndsIsFollowedUntilItStops() {
        Call call = drainingShopA();
        cache.ingress = answers(0, routes("traefik-0", "shop-b"), routes("traefik-1", "shop-a", "shop-b"));
        heldThroughout(call, "shop", 0, 11.999);
        at(12);
        Pass released = pass("shop");
        assertThat(answer(call).text()).startsWith("Timeout");
        assertThat(released.measured()).as("not before the late replica stopped").isEmpty();
        // No call is held, yet the front end is asked again, and a pass is due at the follow-up's limit.
        assertThat(released.askIngress()).isNotNull();
        assertThat(released.holding()).isTrue();
        assertThat(released.wakeAt()).isEqualTo(t(0).plus(AppHolds.FOLLOW_LATE));
        assertThat(holds.question(NS + "/shop").addresses()).contains(cache.ip("shop-a"));
        cache.ingress = answers(15, routes("traefik-0", "shop-b"), routes("traefik-1", "shop-a", "shop-b"));
        at(15);
        assertThat(pass("shop").measured()).isEmpty();
        cache.ingress = answers(20.5, routes("traefik-0", "shop-b"), routes("traefik-1", "shop-b"));
        at(20.5);
        Pass stopped = pass("shop");
        assertThat(stopped.measured()).singleElement().satisfies(m -> {
            assertThat(m.seconds()).containsEntry("traefik-1", 20.5);
            assertThat(m.late()).containsExactly("traefik-1");
            assertThat(m.max()).isEqualTo(20.5);
        });
    }

    @Test
    void aLateReplicaIsFollowedAtMostFiveMinutesAndItsFigureIsThenALowerBound() {
        Call call = drainingShopA();
        cache.ingress = answers(0, routes("traefik-0", "shop-b"), routes("traefik-1", "shop-a", "shop-b"));
        heldThroughout(call, "shop", 0, 11.999);
        at(12);
        pass("shop");
        assertThat(answer(call).text()).startsWith("Timeout");
        at(AppHolds.FOLLOW_LATE.toSeconds());
        cache.ingress = answers(AppHolds.FOLLOW_LATE.toSeconds(), routes("traefik-0", "shop-b"),
                routes("traefik-1", "shop-a", "shop-b"));
        Pass limit = pass("shop");
        assertThat(limit.measured()).singleElement().satisfies(m ->
                assertThat(m.seconds()).containsEntry("traefik-1", (double) AppHolds.FOLLOW_LATE.toSeconds()));
    }

    @Test
    void aDeletedAppsLateReplicaIsNoLongerFollowed() {
        Call call = drainingShopA();
        cache.ingress = answers(0, routes("traefik-0", "shop-b"), routes("traefik-1", "shop-a", "shop-b"));
        heldThroughout(call, "shop", 0, 11.999);
        at(12);
        assertThat(pass("shop").askIngress()).as("following the late replica").isNotNull();
        cache.apps.remove("shop");
        at(13);
        Pass gone = pass("shop");
        assertThat(gone.askIngress()).as("nothing left to ask about").isNull();
        assertThat(gone.measured()).isEmpty();
        assertThat(holds.question(NS + "/shop")).isNull();
    }

    @Test
    void aReplicaThatCannotBeAskedGivesNoFigure() {
        Call call = drainingShopA();
        cache.ingress = answers(0, routes("traefik-0", "shop-a", "shop-b"), routes("traefik-1", "shop-a", "shop-b"));
        pass("shop");
        cache.ingress = answers(1, routes("traefik-0", "shop-b"),
                ReplicaAnswer.failed("traefik-1", "Traefik replica traefik-1 timed out after 2.0 s"));
        heldThroughout(call, "shop", 1, 11.999);
        at(12);
        Pass released = pass("shop");
        assertThat(answer(call).text()).startsWith("Timeout");
        assertThat(released.measured()).singleElement().satisfies(m ->
                assertThat(m.seconds()).containsOnlyKeys("traefik-0"));
    }

    @Test
    void theHoldNamesTheReplicaThatStillRoutes() {
        Call call = drainingShopA();
        cache.ingress = answers(0, routes("traefik-0", "shop-b"), routes("traefik-1", "shop-a", "shop-b"));
        heldThroughout(call, "shop", 0, 11.999);
        at(12);
        pass("shop");
        assertThat(answer(call).text()).startsWith("Timeout")
                .contains("Traefik still routes to shop-a (" + cache.ip("shop-a") + ") through replica traefik-1 (web-shop-80@kubernetes)")
                .doesNotContain("traefik-0");
    }

    @Test
    void aReplicaThatCannotBeAskedHoldsThePodToTheBound() {
        Call call = drainingShopA();
        cache.ingress = answers(0, routes("traefik-0", "shop-a", "shop-b"), routes("traefik-1", "shop-a", "shop-b"));
        pass("shop");
        cache.ingress = answers(1, routes("traefik-0", "shop-b"),
                ReplicaAnswer.failed("traefik-1", "Traefik replica traefik-1 timed out after 2.0 s"));
        heldThroughout(call, "shop", 1, 11.999);
        at(12);
        pass("shop");
        assertThat(answer(call).text()).startsWith("Timeout")
                .contains("Traefik cannot confirm that shop-a is no longer routed to: Traefik replica traefik-1 timed out after 2.0 s");
    }

    @Test
    void aReplicaThatLeftTheEndpointSlicesDuringTheDrainStopsCounting() {
        Call call = drainingShopA();
        cache.ingress = answers(0, routes("traefik-0", "shop-a", "shop-b"), routes("traefik-1", "shop-a", "shop-b"));
        heldThroughout(call, "shop", 0, 1);
        // traefik-1 left (rolled, or scaled down): only traefik-0 is asked, and it no longer routes to shop-a.
        cache.ingress = answers(1, routes("traefik-0", "shop-b"));
        at(1);
        pass("shop");
        assertThat(answer(call).text()).startsWith("Verified").contains("(its 1 replica asked)");
    }

    @Test
    void aReplicaThatJoinedDuringTheDrainHoldsThePodOnlyWhileItRoutesToIt() {
        Call call = drainingShopA();
        cache.ingress = answers(0, routes("traefik-0", "shop-a", "shop-b"));
        heldThroughout(call, "shop", 0, 1);
        cache.ingress = answers(1, routes("traefik-0", "shop-b"), routes("traefik-9", "shop-a", "shop-b"));
        heldThroughout(call, "shop", 1, 2);
        // It never counted for the release: it was not serving when the drain began.
        cache.ingress = answers(2, routes("traefik-0", "shop-b"), ReplicaAnswer.failed("traefik-9", "starting"));
        at(2);
        pass("shop");
        assertThat(answer(call).text()).startsWith("Verified");
    }

    @Test
    void aReplicaNeverSeenRoutingToTheAppIsUnknownNotGone() {
        Call call = drainingShopA();
        // The front end lists none of the app's pods: an unknown route name, not a removal.
        ReplicaAnswer nothing = new ReplicaAnswer("traefik-0", true, Map.of(),
                "looked for 10.1.0.1, 10.1.0.2 among the servers of every HTTP service; found 4 HTTP services, none named like web/shop");
        cache.ingress = answers(0, nothing);
        heldThroughout(call, "shop", 0, 11.999);
        at(12);
        pass("shop");
        assertThat(answer(call).text()).startsWith("Timeout")
                .contains("replica traefik-0 was never seen listing a pod of the app")
                .contains("looked for 10.1.0.1, 10.1.0.2").contains("none named like web/shop");
    }

    @Test
    void aReplicaSeenRoutingToTheAppInAnEarlierAnswerMayVouchForALaterRemoval() {
        Call call = drainingShopA();
        cache.ingress = answers(0, routes("traefik-0", "shop-a", "shop-b"));
        heldThroughout(call, "shop", 0, 1);
        // shop-b restarts meanwhile: the replica lists no pod of the app, yet it was seen routing to it before.
        cache.ingress = answers(1, new ReplicaAnswer("traefik-0", true, Map.of(), "found nothing"));
        at(1);
        pass("shop");
        assertThat(answer(call).text()).startsWith("Verified");
    }

    @Test
    void aReplicaThatFencesThePodVouchesForItOnTheFirstAnswerAfterAStart() {
        // The operator just started: no earlier answer. The replica lists shop-a fenced (it sends it
        // no new request) and knows the app's backend by its pods' addresses: gone, not unknown.
        Call call = drainingShopA();
        cache.ingress = answers(0, new ReplicaAnswer("traefik-0", true, Map.of(), "found 1 fenced",
                Set.of(cache.ip("shop-a"))));
        pass("shop");
        assertThat(answer(call).text()).startsWith("Verified");
    }

    @Test
    void aFencedListingOfAnotherAddressProvesNothingWithoutIt() {
        // Nothing of the app listed, fenced or not: still unknown.
        Call call = drainingShopA();
        cache.ingress = answers(0, new ReplicaAnswer("traefik-0", true, Map.of(), "found nothing", Set.of()));
        heldThroughout(call, "shop", 0, 11.999);
        at(12);
        pass("shop");
        assertThat(answer(call).text()).startsWith("Timeout").contains("never seen listing");
    }

    @Test
    void routingSeenOnlyToANotReadyPodDoesNotCount() {
        Call call = drainingShopA();
        cache.leaveSlices("shop-b");
        // shop-b is listed but not ready in the slices: that listing proves nothing about the replica.
        cache.ingress = answers(0, routes("traefik-0", "shop-b"));
        heldThroughout(call, "shop", 0, 11.999);
        at(12);
        pass("shop");
        assertThat(answer(call).text()).startsWith("Timeout").contains("never seen listing");
    }

    @Test
    void asksAboutTheAddressesOfEveryPodOfTheApp() {
        Call call = drainingShopA();
        pass("shop");
        IngressPoller.Question q = holds.question(NS + "/shop");
        assertThat(q.addresses()).containsExactlyInAnyOrder(cache.ip("shop-a"), cache.ip("shop-b"));
        assertThat(call.answer).isNotDone();
    }

    private IngressObservation answers(double at, ReplicaAnswer... replicas) {
        Map<String, ReplicaAnswer> byName = new LinkedHashMap<>();
        for (ReplicaAnswer r : replicas) {
            byName.put(r.replica(), r);
        }
        return IngressObservation.answered(byName, "Service zdt-ingress/traefik port traefik", t(at));
    }

    /** A replica that routes to the pods' addresses, through the Ingress provider's service of the app. */
    private ReplicaAnswer routes(String replica, String... pods) {
        Map<String, Set<String>> routes = new LinkedHashMap<>();
        for (String p : pods) {
            routes.put(cache.ip(p), Set.of(NS + "-shop-80@kubernetes"));
        }
        return new ReplicaAnswer(replica, true, routes, "looked at 3 HTTP services");
    }

    // ---------------------------------------------------------------- shutdown and forgetting

    @Test
    void stoppingAnswersEveryHeldCall503() {
        cache.app("shop", ENDPOINTS);
        cache.readyPod("shop", "shop-a", 12);
        cache.terminate("shop-a");
        Call a = callPod("shop", "shop-a");
        Call b = callApp("shop");
        pass("shop");
        assertThat(holds.abandonAll()).isEqualTo(2);
        assertThat(answer(a).status()).isEqualTo(503);
        assertThat(answer(b).text()).isEqualTo("this operator replica is shutting down; hold ended early\n");
        assertThat(metrics.inFlight()).isZero();
        assertThat(holds.tracks("web/shop")).isFalse();
    }

    @Test
    void theAppIsForgottenOnceNoCallIsHeldAndItsAnsweredPodsAreGone() {
        cache.app("shop", ENDPOINTS_P0);
        cache.readyPod("shop", "shop-a", 12);
        cache.readyPod("shop", "shop-b", 12);
        cache.terminate("shop-a");
        Call call = callPod("shop", "shop-a");
        cache.leaveSlices("shop-a");
        Pass released = pass("shop");
        assertThat(answer(call).text()).startsWith("Verified");
        assertThat(released.holding()).isFalse();
        assertThat(released.forgotten()).as("shop-a is still terminating: it must not be claimed again").isFalse();

        cache.leaveCache("shop-a");
        assertThat(pass("shop").forgotten()).isTrue();
        assertThat(holds.tracks("web/shop")).isFalse();
    }

    // ---------------------------------------------------------------- helpers

    private static Instant t(double seconds) {
        return T0.plusMillis(Math.round(seconds * 1000));
    }

    private void at(double seconds) {
        clock.now = t(seconds);
    }

    private Call callApp(String app) {
        return arrive(new Call(NS, app, null, clock.now));
    }

    private Call callPod(String app, String pod) {
        return callPod(app, pod, NS);
    }

    private Call callPod(String app, String pod, String namespace) {
        return arrive(new Call(namespace, app, pod, clock.now));
    }

    private Call arrive(Call call) {
        boolean held = holds.arrive(call, cache.apps.get(call.app),
                call.exactPod == null ? null : cache.pods.get(call.exactPod));
        assertThat(held).as("held, or answered at once").isNotEqualTo(call.answer.isDone());
        return call;
    }

    private Pass pass(String app) {
        String key = NS + "/" + app;
        assertThat(holds.tracks(key)).as("the gate runs passes only for apps it tracks").isTrue();
        return holds.pass(key, cache.apps.get(app), cache.podsOf(app), cache.rotation(app), cache.ingress);
    }

    /** Runs a pass every 1 ms from {@code from} to {@code to} (seconds after T0); the call stays held throughout. */
    private void heldThroughout(Call call, String app, double from, double to) {
        for (long ms = Math.round(from * 1000); ms <= Math.round(to * 1000); ms++) {
            clock.now = T0.plusMillis(ms);
            pass(app);
            assertThat(call.answer).as("held at %s s", ms / 1000.0).isNotDone();
        }
    }

    private static GateAnswer answer(Call call) {
        assertThat(call.answer).as("answered").isDone();
        return call.answer.getNow(null);
    }

    /** A mutable clock: the test says what time it is. */
    private static final class FakeClock implements InstantSource {
        Instant now = T0;

        @Override
        public Instant instant() {
            return now;
        }
    }

    /** Names a front end; never asked here, the test sets its answers. */
    private static final class StubVerifier implements IngressVerifier {
        @Override
        public boolean supports(Provider provider) {
            return provider == Provider.TRAEFIK;
        }

        @Override
        public String name() {
            return "Traefik";
        }

        @Override
        public CompletableFuture<IngressObservation> observe(ZeroDowntimeApp app, Set<String> addresses) {
            throw new AssertionError("the hold logic never asks the front end itself");
        }
    }

    /** What the gate's informers would show: the apps, their pods, which pods the slices offer as ready. */
    private final class Cache {
        final Map<String, ZeroDowntimeApp> apps = new LinkedHashMap<>();
        final Map<String, Pod> pods = new LinkedHashMap<>();
        /** Pods the slices offer as ready, with their app: a pod that left the cache may still be offered. */
        final Map<String, String> ready = new LinkedHashMap<>();
        private final Map<String, String> ips = new LinkedHashMap<>();
        IngressObservation ingress;
        private long version;

        /** An app whose budget (20 s) is above the hold annotations most tests give its pods. */
        void app(String name, String traffic) {
            app(name, traffic, "drain:\n  holdSeconds: 20");
        }

        void app(String name, String traffic, String extraSpec) {
            app(name, traffic, extraSpec, NS);
        }

        /** Names are unique across namespaces here: apps and pods are looked up by name alone. */
        void app(String name, String traffic, String extraSpec, String namespace) {
            ZeroDowntimeApp app = Apps.parse(Apps.yaml(name, traffic, extraSpec));
            app.getMetadata().setNamespace(namespace);
            apps.put(name, app);
        }

        void readyPod(String app, String name, Integer holdSeconds) {
            readyPod(app, name, holdSeconds, NS);
        }

        void readyPod(String app, String name, Integer holdSeconds, String namespace) {
            String ip = "10.1.0." + (ips.size() + 1);
            PodBuilder b = new PodBuilder().withNewMetadata().withName(name).withNamespace(namespace)
                    .withResourceVersion(Long.toString(++version))
                    .withLabels(Map.of(Constants.APP_LABEL, app, Constants.MANAGED_BY_LABEL, Constants.OPERATOR_NAME))
                    .withAnnotations(holdSeconds == null ? Map.of()
                            : Map.of(Constants.HOLD_ANNOTATION, holdSeconds.toString()))
                    .endMetadata()
                    .withNewStatus().withPhase("Running").withPodIP(ip).endStatus();
            pods.put(name, b.build());
            ips.put(name, ip);
            ready.put(name, app);
        }

        /** The pod is deleted with a 30 s grace period; the slices still offer it until told otherwise. */
        void terminate(String name) {
            Pod p = new PodBuilder(pods.get(name)).editMetadata()
                    .withDeletionTimestamp(clock.now.plusSeconds(30).truncatedTo(ChronoUnit.SECONDS).toString())
                    .withDeletionGracePeriodSeconds(30L)
                    .withResourceVersion(Long.toString(++version))
                    .endMetadata().build();
            pods.put(name, p);
        }

        void leaveSlices(String name) {
            ready.remove(name);
        }

        void leaveCache(String name) {
            pods.remove(name);
        }

        String ip(String name) {
            return ips.get(name);
        }

        List<Pod> podsOf(String app) {
            List<Pod> of = new ArrayList<>();
            pods.values().stream().filter(p -> app.equals(p.getMetadata().getLabels().get(Constants.APP_LABEL)))
                    .forEach(of::add);
            return of;
        }

        /** The app's slice: its ready pods. */
        Rotation rotation(String app) {
            List<Endpoint> endpoints = new ArrayList<>();
            ready.forEach((name, of) -> {
                if (of.equals(app)) {
                    endpoints.add(new EndpointBuilder().withAddresses(ips.get(name)).withNewConditions().withReady(true)
                            .endConditions().withNewTargetRef().withKind("Pod").withName(name).endTargetRef().build());
                }
            });
            return Rotation.of(List.of(new EndpointSliceBuilder().withNewMetadata().withName("s").endMetadata()
                    .withEndpoints(endpoints).build()));
        }
    }
}
