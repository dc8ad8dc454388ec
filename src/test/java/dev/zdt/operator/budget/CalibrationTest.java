package dev.zdt.operator.budget;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Map;
import java.util.Set;

import org.junit.jupiter.api.Test;

import dev.zdt.operator.api.InvalidSpecException;
import dev.zdt.operator.api.v1alpha1.CalibrationSpec;
import dev.zdt.operator.api.v1alpha1.DrainSpec;
import dev.zdt.operator.api.v1alpha1.ObservedPropagation;
import dev.zdt.operator.api.v1alpha1.Provider;
import dev.zdt.operator.api.v1alpha1.StrategySpec;
import dev.zdt.operator.api.v1alpha1.TrafficSpec;

/**
 * The hold with drain.calibration: twice the slowest replica measured over the window plus the
 * margin, in 5 s steps, never below the derived hold nor above maxHoldSeconds; raised at once, lowered only
 * once the slow drain has left the window.
 */
class CalibrationTest {

    /** Traefik's 8 s throttle: propagation 10 s (throttle 8 + watch 2), hold 15 s with the default margin of 5. */
    private static TrafficSpec traefik(TrafficSpec.Verify verify) {
        TrafficSpec t = new TrafficSpec();
        t.setProvider(Provider.TRAEFIK);
        t.setThrottleSeconds(8);
        t.setVerify(verify);
        return t;
    }

    private static DrainSpec calibrated(Integer maxHold) {
        DrainSpec d = new DrainSpec();
        d.setMaxRequestSeconds(12);
        d.setShutdownSeconds(3);
        CalibrationSpec c = new CalibrationSpec();
        c.setEnabled(true);
        c.setMaxHoldSeconds(maxHold);
        d.setCalibration(c);
        return d;
    }

    private static ObservedPropagation measured(double... slowest) {
        ObservedPropagation o = null;
        int i = 0;
        for (double s : slowest) {
            o = PropagationWindow.add(o, new PropagationSample("shop-" + i++, "Traefik", 15,
                    Map.of("traefik-0", Math.min(s, 9.0), "traefik-1", s), Set.of()));
        }
        return o;
    }

    private static DrainBudget derive(DrainSpec d, ObservedPropagation o) {
        return DrainBudget.derive(traefik(TrafficSpec.Verify.INGRESS), d, new StrategySpec(), o);
    }

    @Test
    void withoutCalibrationTheMeasuredFiguresChangeNothing() {
        DrainSpec d = calibrated(60);
        d.getCalibration().setEnabled(false);
        DrainBudget b = derive(d, measured(20.3));
        assertThat(b.holdSeconds()).isEqualTo(15);
        assertThat(b).isEqualTo(DrainBudget.derive(traefik(TrafficSpec.Verify.INGRESS), d, new StrategySpec()));
    }

    @Test
    void theHoldFollowsTheSlowestReplicaPlusTheMarginInFiveSecondStepsAndTheGraceWithIt() {
        DrainBudget b = derive(calibrated(60), measured(20.3, 19.8, 20.1));
        // ceil(2 x 20.3) + 5 = 46, up to 50.
        assertThat(b.holdSeconds()).isEqualTo(50);
        assertThat(b.terminationGracePeriodSeconds()).isEqualTo(50 + 12 + 3);
        assertThat(b.propagationSeconds()).as("the profile's propagation stays as derived").isEqualTo(10);
        assertThat(b.derivation()).contains("grace 65s = hold 50s + request 12s + shutdown 3s",
                "hold 50s (calibrated: measured max 20.3s over 3 drains, replica traefik-1, twice that 40.6s + margin 5s, "
                        + "up to a multiple of 5s = 50s",
                "derived hold 15s = propagation 10s");
        assertThat(b.warnings()).isEmpty();
        assertThat(b.hash(DrainSpec.Mode.GATE)).as("a calibrated change rolls the pods")
                .isNotEqualTo(derive(calibrated(60), null).hash(DrainSpec.Mode.GATE));
    }

    @Test
    void aFastFrontEndNeverLowersTheHoldBelowTheDerivedOne() {
        DrainBudget b = derive(calibrated(60), measured(0.4, 1.2));
        assertThat(b.holdSeconds()).isEqualTo(15);
        assertThat(b.derivation()).contains("below the derived hold");
    }

    @Test
    void theHoldStopsAtMaxHoldSecondsAndSaysSo() {
        DrainBudget b = derive(calibrated(20), measured(40.0));
        assertThat(b.holdSeconds()).isEqualTo(20);
        assertThat(b.derivation()).contains("= 85s, capped at maxHoldSeconds 20s");
        assertThat(b.warnings()).singleElement().asString().contains("needs a hold of 85s, above maxHoldSeconds 20s");
    }

    @Test
    void aGraceOverrideCapsTheCalibratedHoldInsteadOfMakingTheSpecInvalid() {
        DrainSpec d = calibrated(60);
        d.setTerminationGracePeriodSeconds(40);
        DrainBudget b = derive(d, measured(30.0));
        assertThat(b.holdSeconds()).isEqualTo(40 - 12 - 3);
        assertThat(b.terminationGracePeriodSeconds()).isEqualTo(40);
    }

    @Test
    void aMaximumBelowTheDerivedHoldIsRefusedWithWhatToSetNeverAShorterHold() {
        assertThatThrownBy(() -> derive(calibrated(10), measured(20.0))).isInstanceOf(InvalidSpecException.class)
                .hasMessageContaining("drain.calibration.maxHoldSeconds 10 is below the derived hold 15s")
                .hasMessageContaining("set maxHoldSeconds to at least 15");
        assertThatThrownBy(() -> derive(calibrated(null), measured(20.0))).isInstanceOf(InvalidSpecException.class)
                .hasMessageContaining("maxHoldSeconds is missing");
    }

    @Test
    void nothingMeasuredYetKeepsTheDerivedHoldAndSaysCalibrationIsOn() {
        DrainBudget b = derive(calibrated(60), null);
        assertThat(b.holdSeconds()).isEqualTo(15);
        assertThat(b.derivation()).contains("calibration on, nothing measured yet");
    }

    @Test
    void withoutAnIngressCheckNothingIsMeasuredAndTheWarningSaysSo() {
        DrainBudget b = DrainBudget.derive(traefik(TrafficSpec.Verify.ENDPOINTS), calibrated(60), new StrategySpec(),
                measured(20.0));
        assertThat(b.holdSeconds()).isEqualTo(15);
        assertThat(b.warnings()).singleElement().asString().contains("only verify: ingress measures the front end");
    }

    @Test
    void raisedAtOnceLoweredOnlyOnceTheSlowDrainLeftTheWindowOfTwenty() {
        ObservedPropagation o = measured(4.0, 4.0);
        assertThat(derive(calibrated(60), o).holdSeconds()).isEqualTo(15);
        o = PropagationWindow.add(o, new PropagationSample("slow", "Traefik", 15, Map.of("traefik-1", 20.3), Set.of("traefik-1")));
        assertThat(derive(calibrated(60), o).holdSeconds()).as("raised by the first slow drain").isEqualTo(50);
        for (int i = 1; i < PropagationWindow.DRAINS; i++) {
            o = PropagationWindow.add(o, new PropagationSample("ok" + i, "Traefik", 50, Map.of("traefik-1", 4.0), Set.of()));
            assertThat(derive(calibrated(60), o).holdSeconds()).as("after %d fast drains", i).isEqualTo(50);
        }
        o = PropagationWindow.add(o, new PropagationSample("ok20", "Traefik", 50, Map.of("traefik-1", 4.0), Set.of()));
        assertThat(derive(calibrated(60), o).holdSeconds()).as("the slow drain left the window").isEqualTo(15);
        // A little slower within the same step does not change the hold, so the pods do not roll again.
        assertThat(derive(calibrated(60), measured(20.3)).hash(DrainSpec.Mode.GATE))
                .isEqualTo(derive(calibrated(60), measured(21.9)).hash(DrainSpec.Mode.GATE));
    }

    @Test
    void theHeadroomCoversTheWorstCaseTheWindowHasNotSeenYet() {
        // On the cluster (e2e/results/calibration-lag30): 19 s measured over 3 drains, then a 26.5 s drain.
        // The window's maximum + margin (25 s) was exceeded; twice it + margin (45 s) covers it.
        DrainBudget b = derive(calibrated(60), measured(13.0, 7.0, 19.0));
        assertThat(b.holdSeconds()).isEqualTo(45);
        assertThat(b.holdSeconds()).isGreaterThanOrEqualTo((int) Math.ceil(26.5) + 5);
    }
}
