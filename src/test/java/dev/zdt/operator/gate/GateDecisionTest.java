package dev.zdt.operator.gate;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.time.Instant;
import java.util.List;

import org.junit.jupiter.api.Test;

import dev.zdt.operator.api.v1alpha1.DrainRecord.ReleasedBy;
import dev.zdt.operator.api.v1alpha1.TrafficSpec.Verify;
import dev.zdt.operator.gate.GateDecision.Hold;
import dev.zdt.operator.gate.GateDecision.Ingress;
import dev.zdt.operator.gate.GateDecision.Inputs;
import dev.zdt.operator.gate.GateDecision.Outcome;
import dev.zdt.operator.gate.GateDecision.Release;
import dev.zdt.operator.gate.GateDecision.Target;

class GateDecisionTest {

    private static final Instant T0 = Instant.parse("2026-11-23T10:00:00Z");
    private static final Duration H = Duration.ofSeconds(12);
    private static final Duration P = Duration.ofSeconds(4);

    private static Instant at(double seconds) {
        return T0.plusMillis((long) (seconds * 1000));
    }

    private static Target inRotation(String pod) {
        return new Target(pod, "10.0.0.1", null, Ingress.ROUTED, null);
    }

    private static Target outSince(String pod, double seconds, Ingress ingress) {
        return new Target(pod, "10.0.0.1", at(seconds), ingress, ingress == Ingress.UNKNOWN ? "connection refused" : null);
    }

    private static Outcome decide(double now, Verify verify, int others, Target... targets) {
        return GateDecision.decide(new Inputs(T0, at(now), H, P, verify, "Traefik", List.of(targets), others));
    }

    @Test
    void holdsWhileTheEndpointSlicesStillOfferThePod() {
        Outcome o = decide(5, Verify.ENDPOINTS, 2, inRotation("web-a"));
        assertThat(o).isInstanceOf(Hold.class);
        assertThat(((Hold) o).wakeAt()).isEqualTo(at(12));
        assertThat(((Hold) o).waitingFor()).contains("still offer web-a as ready");
    }

    @Test
    void endpointsVerifyWaitsThePropagationTimeAfterRemoval() {
        Outcome early = decide(3, Verify.ENDPOINTS, 2, outSince("web-a", 1, Ingress.UNKNOWN));
        assertThat(early).isInstanceOf(Hold.class);
        assertThat(((Hold) early).wakeAt()).as("wakes exactly when P has passed").isEqualTo(at(5));

        Outcome after = decide(5, Verify.ENDPOINTS, 2, outSince("web-a", 1, Ingress.UNKNOWN));
        assertThat(after).isInstanceOf(Release.class);
        assertThat(((Release) after).by()).isEqualTo(ReleasedBy.VERIFIED);
        assertThat(((Release) after).message()).contains("web-a out of the EndpointSlices for 4.0s");
    }

    @Test
    void ingressVerifyReleasesOnlyWhenTheFrontEndDropsTheAddress() {
        assertThat(decide(2, Verify.INGRESS, 1, outSince("web-a", 1, Ingress.ROUTED)))
                .isInstanceOfSatisfying(Hold.class, h -> assertThat(h.waitingFor()).contains("Traefik still routes to web-a"));
        assertThat(decide(2, Verify.INGRESS, 1, outSince("web-a", 1, Ingress.GONE)))
                .isInstanceOfSatisfying(Release.class, r -> {
                    assertThat(r.by()).isEqualTo(ReleasedBy.VERIFIED);
                    assertThat(r.message()).contains("no longer routed to by Traefik");
                });
    }

    @Test
    void ingressGoneDoesNotCountWhileTheSlicesStillOfferThePod() {
        Target stillReady = new Target("web-a", "10.0.0.1", null, Ingress.GONE, null);
        assertThat(decide(2, Verify.INGRESS, 1, stillReady)).isInstanceOf(Hold.class);
    }

    @Test
    void anUnreachableFrontEndIsNeverTakenForRemovalAndEndsByTimeout() {
        assertThat(decide(11.9, Verify.INGRESS, 1, outSince("web-a", 1, Ingress.UNKNOWN))).isInstanceOf(Hold.class);
        assertThat(decide(12, Verify.INGRESS, 1, outSince("web-a", 1, Ingress.UNKNOWN)))
                .isInstanceOfSatisfying(Release.class, r -> {
                    assertThat(r.by()).isEqualTo(ReleasedBy.TIMEOUT);
                    assertThat(r.message()).contains("hold bound 12.0s reached")
                            .contains("Traefik cannot confirm that web-a is no longer routed to: connection refused");
                });
    }

    @Test
    void neverHoldsPastTheBoundCountedFromArrival() {
        Outcome o = decide(12, Verify.ENDPOINTS, 2, inRotation("web-a"));
        assertThat(o).isInstanceOfSatisfying(Release.class, r -> {
            assertThat(r.by()).isEqualTo(ReleasedBy.TIMEOUT);
            assertThat(r.message()).contains("still offer web-a as ready");
        });
        // Removal late in the hold: P would end after H, so H wins.
        assertThat(((Hold) decide(10, Verify.ENDPOINTS, 2, outSince("web-a", 10, Ingress.UNKNOWN))).wakeAt())
                .isEqualTo(at(12));
    }

    @Test
    void verifyNoneHoldsTheFullBound() {
        assertThat(decide(11, Verify.NONE, 2, outSince("web-a", 0, Ingress.GONE))).isInstanceOf(Hold.class);
        assertThat(decide(12, Verify.NONE, 2, outSince("web-a", 0, Ingress.GONE)))
                .isInstanceOfSatisfying(Release.class, r -> {
                    assertThat(r.by()).isEqualTo(ReleasedBy.TIMEOUT);
                    assertThat(r.message()).contains("by design");
                });
    }

    @Test
    void waitsForEveryTargetPod() {
        Outcome o = decide(6, Verify.ENDPOINTS, 2, outSince("web-a", 1, Ingress.UNKNOWN), inRotation("web-b"));
        assertThat(o).isInstanceOfSatisfying(Hold.class, h -> assertThat(h.waitingFor()).contains("web-b"));
        Outcome both = decide(6, Verify.ENDPOINTS, 2, outSince("web-a", 1, Ingress.UNKNOWN),
                outSince("web-b", 1.5, Ingress.UNKNOWN));
        assertThat(both).isInstanceOfSatisfying(Release.class, r -> assertThat(r.by()).isEqualTo(ReleasedBy.VERIFIED));
    }

    @Test
    void theLastServerIsReleasedAsBypassedInsteadOfHanging() {
        assertThat(decide(5, Verify.ENDPOINTS, 0, outSince("web-a", 1, Ingress.UNKNOWN)))
                .isInstanceOfSatisfying(Release.class, r -> {
                    assertThat(r.by()).isEqualTo(ReleasedBy.BYPASSED);
                    assertThat(r.lastServer()).isTrue();
                    assertThat(r.message()).contains("no other ready endpoint");
                });
    }

    @Test
    void aCallWithoutTargetsNeverCountsAsVerified() {
        assertThat(decide(1, Verify.ENDPOINTS, 2)).isInstanceOf(Hold.class);
        assertThat(decide(12, Verify.ENDPOINTS, 2)).isInstanceOfSatisfying(Release.class,
                r -> assertThat(r.by()).isEqualTo(ReleasedBy.TIMEOUT));
    }

    @Test
    void messagesNameAFewPodsAndCountTheRest() {
        Target[] many = new Target[10];
        for (int i = 0; i < many.length; i++) {
            many[i] = inRotation("web-" + i);
        }
        Hold h = (Hold) decide(1, Verify.ENDPOINTS, 2, many);
        assertThat(h.waitingFor()).contains("web-0").contains("web-2").doesNotContain("web-3").contains("and 7 more pods");
    }

    @Test
    void aCallThatDoesNotNameItsPodIsNotReleasedBeforeItsTargetsSettle() {
        Target verified = outSince("web-a", 1, Ingress.UNKNOWN);
        GateDecision.Check check = GateDecision.Check.NONE.with(new GateDecision.Rules(at(6), P, Verify.ENDPOINTS,
                "Traefik"), verified);
        Outcome early = GateDecision.decide(T0, at(6), H, Verify.ENDPOINTS, check, 2, at(8));
        assertThat(early).isInstanceOf(Hold.class);
        assertThat(((Hold) early).wakeAt()).isEqualTo(at(8));
        assertThat(((Hold) early).waitingFor()).contains("does not name its pod");

        Outcome settled = GateDecision.decide(T0, at(8), H, Verify.ENDPOINTS, check, 2, at(8));
        assertThat(settled).isInstanceOf(Release.class);
        assertThat(((Release) settled).by()).isEqualTo(ReleasedBy.VERIFIED);

        Outcome pastTheBound = GateDecision.decide(T0, at(12), H, Verify.ENDPOINTS, check, 2, at(20));
        assertThat(pastTheBound).as("the bound still ends the hold").isInstanceOf(Release.class);
    }
}
