package dev.zdt.operator.budget;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.Map;
import java.util.Set;

import org.junit.jupiter.api.Test;

import dev.zdt.operator.api.v1alpha1.ObservedPropagation;
import dev.zdt.operator.api.v1alpha1.ReplicaPropagation;

/** The window of measured drains folded into status.observedPropagation, and when it says the front end is slower than the budget. */
class PropagationWindowTest {

    private static PropagationSample drain(String pod, int hold, Map<String, Double> seconds, String... late) {
        return new PropagationSample(pod, "Traefik", hold, seconds, Set.of(late));
    }

    private static ObservedPropagation fold(ObservedPropagation o, PropagationSample... samples) {
        for (PropagationSample s : samples) {
            o = PropagationWindow.add(o, s);
        }
        return o;
    }

    @Test
    void medianIsTheMiddleFigureOrTheMeanOfTheTwoMiddleOnes() {
        assertThat(PropagationWindow.median(List.of(3.0, 1.0, 2.0))).isEqualTo(2.0);
        assertThat(PropagationWindow.median(List.of(4.0, 1.0, 2.0, 3.0))).isEqualTo(2.5);
        assertThat(PropagationWindow.median(List.of())).isNull();
    }

    @Test
    void p95IsTheNearestRank() {
        // 20 figures 1..20: the 19th smallest is at least 95 % of them.
        List<Double> twenty = java.util.stream.IntStream.rangeClosed(1, 20).mapToObj(i -> (double) i).toList();
        assertThat(PropagationWindow.p95(twenty)).isEqualTo(19.0);
        assertThat(PropagationWindow.p95(List.of(7.0))).isEqualTo(7.0);
        // One slow drain in five is the p95 of five.
        assertThat(PropagationWindow.p95(List.of(2.0, 2.0, 2.0, 2.0, 20.0))).isEqualTo(20.0);
        assertThat(PropagationWindow.max(List.of(2.04, 20.26, 3.0))).isEqualTo(20.3);
    }

    @Test
    void aDrainsFigureIsItsSlowestReplicaAndEachReplicaKeepsItsOwn() {
        ObservedPropagation o = fold(null,
                drain("shop-a", 15, Map.of("traefik-0", 9.2, "traefik-1", 20.4), "traefik-1"),
                drain("shop-b", 15, Map.of("traefik-0", 8.8, "traefik-1", 21.0), "traefik-1"),
                drain("shop-c", 15, Map.of("traefik-0", 9.6)));
        assertThat(o.getFrontEnd()).isEqualTo("Traefik");
        assertThat(o.getDrains()).isEqualTo(3);
        assertThat(o.getRecent()).extracting(d -> d.getPod()).containsExactly("shop-c", "shop-b", "shop-a");
        assertThat(o.getRecent()).extracting(d -> d.getReplica()).containsExactly("traefik-0", "traefik-1", "traefik-1");
        assertThat(o.getMedianSeconds()).isEqualTo(20.4);
        assertThat(o.getMaxSeconds()).isEqualTo(21.0);
        assertThat(o.getLateDrains()).isEqualTo(2);
        ReplicaPropagation slow = o.getReplicas().stream().filter(r -> r.getReplica().equals("traefik-1")).findFirst().orElseThrow();
        assertThat(slow.getRecentSeconds()).containsExactly(21.0, 20.4);
        assertThat(slow.getDrains()).isEqualTo(2);
        assertThat(slow.getMedianSeconds()).isEqualTo(20.7);
        assertThat(slow.getLateDrains()).isEqualTo(2);
        ReplicaPropagation fast = o.getReplicas().stream().filter(r -> r.getReplica().equals("traefik-0")).findFirst().orElseThrow();
        assertThat(fast.getRecentSeconds()).containsExactly(9.6, 8.8, 9.2);
        assertThat(fast.getMaxSeconds()).isEqualTo(9.6);
        assertThat(fast.getLateDrains()).isZero();
        // The replica of the newest drain first.
        assertThat(o.getReplicas().get(0).getReplica()).isEqualTo("traefik-0");
    }

    @Test
    void theWindowKeepsTheLastTwentyDrainsAndTenReplicas() {
        ObservedPropagation o = null;
        for (int i = 0; i < 45; i++) {
            o = PropagationWindow.add(o, drain("shop-" + i, 15, Map.of("traefik-" + i, (double) i)));
        }
        assertThat(o.getRecent()).hasSize(PropagationWindow.DRAINS);
        assertThat(o.getDrains()).isEqualTo(20);
        assertThat(o.getRecent().get(0).getPod()).isEqualTo("shop-44");
        assertThat(o.getMaxSeconds()).isEqualTo(44.0);
        // The oldest figure in the window is drain 25's.
        assertThat(o.getMedianSeconds()).isEqualTo(34.5);
        assertThat(o.getReplicas()).hasSize(PropagationWindow.REPLICAS);
        assertThat(o.getReplicas().get(0).getReplica()).isEqualTo("traefik-44");
        ObservedPropagation one = null;
        for (int i = 0; i < 30; i++) {
            one = PropagationWindow.add(one, drain("shop-" + i, 15, Map.of("traefik-0", (double) i)));
        }
        assertThat(one.getReplicas().get(0).getRecentSeconds()).hasSize(20).startsWith(29.0).endsWith(10.0);
    }

    @Test
    void anotherFrontEndStartsANewWindow() {
        ObservedPropagation o = fold(null, drain("shop-a", 15, Map.of("traefik-0", 30.0), "traefik-0"));
        ObservedPropagation envoy = PropagationWindow.add(o,
                new PropagationSample("shop-b", "Envoy", 15, Map.of("envoy-0", 2.0), Set.of()));
        assertThat(envoy.getDrains()).isEqualTo(1);
        assertThat(envoy.getMaxSeconds()).isEqualTo(2.0);
        assertThat(envoy.getReplicas()).extracting(ReplicaPropagation::getReplica).containsExactly("envoy-0");
    }

    @Test
    void aHoldThatEndedWhileAReplicaStillRoutedIsSlowerThanTheBudgetAndNamesTheReplicaAndTheFix() {
        ObservedPropagation o = fold(null,
                drain("shop-a", 15, Map.of("traefik-0", 9.2, "traefik-1", 20.4), "traefik-1"));
        String message = FrontEndFit.slower(o, 5).orElseThrow();
        assertThat(message).contains("Traefik replica traefik-1 still routed to pod shop-a when its hold of 15s ended",
                "stopped 20.4s after the hold began", "max 20.4s", "traffic.propagationSeconds: 21 (hold 26s)",
                "clears after 3 drains in a row that fit (0 so far)");
    }

    @Test
    void aDrainWithinTheMarginOfItsHoldDoesNotFit() {
        // hold 15 = propagation 10 + margin 5: 10.0 fits, 10.6 is in the margin.
        assertThat(FrontEndFit.slower(fold(null, drain("shop-a", 15, Map.of("t", 10.0))), 5)).isEmpty();
        assertThat(FrontEndFit.slower(fold(null, drain("shop-a", 15, Map.of("t", 10.6))), 5)).get().asString()
                .contains("took 10.6s to stop routing to pod shop-a, within the safety margin of 5s of its hold of 15s");
    }

    @Test
    void aLateDrainNeverFitsEvenWhenItsFigureIsWithinItsHold() {
        // Margin 0: the replica stopped in the very pass the hold ended, its figure equals the hold.
        ObservedPropagation o = fold(null, drain("shop-a", 15, Map.of("t", 15.0), "t"));
        assertThat(FrontEndFit.slower(o, 0)).get().asString().contains("still routed to pod shop-a when its hold of 15s ended");
    }

    @Test
    void theConditionClearsAfterThreeDrainsInARowThatFitAndComesBackWithTheNextMisfit() {
        ObservedPropagation o = fold(null, drain("shop-a", 15, Map.of("t", 20.0), "t"));
        for (int i = 1; i < FrontEndFit.FITTING_TO_CLEAR; i++) {
            o = PropagationWindow.add(o, drain("shop-ok" + i, 26, Map.of("t", 20.0)));
            assertThat(FrontEndFit.slower(o, 5)).as("after %d fitting drains", i).get().asString()
                    .contains("(" + i + " so far)");
        }
        o = PropagationWindow.add(o, drain("shop-ok3", 26, Map.of("t", 20.0)));
        assertThat(FrontEndFit.slower(o, 5)).as("after three fitting drains").isEmpty();
        // The late drain is still in the window, but three fitting ones came after it.
        assertThat(o.getLateDrains()).isEqualTo(1);
        o = PropagationWindow.add(o, drain("shop-slow", 26, Map.of("t", 22.0)));
        assertThat(FrontEndFit.slower(o, 5)).get().asString().contains("took 22.0s");
        assertThat(FrontEndFit.slower(null, 5)).isEmpty();
    }
}
