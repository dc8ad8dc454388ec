package dev.zdt.operator.budget;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;

import org.junit.jupiter.api.Test;

import dev.zdt.operator.api.InvalidSpecException;
import dev.zdt.operator.api.v1alpha1.DrainSpec;
import dev.zdt.operator.api.v1alpha1.ProbeSpec;
import dev.zdt.operator.api.v1alpha1.Provider;
import dev.zdt.operator.api.v1alpha1.StrategySpec;
import dev.zdt.operator.api.v1alpha1.StreamSignal;
import dev.zdt.operator.api.v1alpha1.StreamsSpec;
import dev.zdt.operator.api.v1alpha1.TrafficSpec;
import io.fabric8.kubernetes.api.model.IntOrString;

class DrainBudgetTest {

    private static TrafficSpec traffic(Provider provider) {
        TrafficSpec t = new TrafficSpec();
        t.setProvider(provider);
        return t;
    }

    private static DrainSpec drain(int request, int shutdown, int margin) {
        DrainSpec d = new DrainSpec();
        d.setMaxRequestSeconds(request);
        d.setShutdownSeconds(shutdown);
        d.setSafetyMarginSeconds(margin);
        return d;
    }

    private static ProbeSpec probe(int interval, int timeout, int unhealthy, int healthy) {
        ProbeSpec p = new ProbeSpec();
        p.setIntervalSeconds(interval);
        p.setTimeoutSeconds(timeout);
        p.setUnhealthyThreshold(unhealthy);
        p.setHealthyThreshold(healthy);
        return p;
    }

    @Test
    void legacyIngressNginxThirtySecondSyncHoldsAtLeastThirtySeconds() {
        TrafficSpec t = traffic(Provider.INGRESS_NGINX);
        t.setSyncSeconds(30);
        DrainBudget b = DrainBudget.derive(t, drain(30, 0, 0), new StrategySpec());

        assertThat(b.propagationSeconds()).isGreaterThanOrEqualTo(30);
        assertThat(b.holdSeconds()).isGreaterThanOrEqualTo(30);
        // The common hand-tuned recipe is sleep 30 / grace 60: the derived grace covers hold + request.
        assertThat(b.terminationGracePeriodSeconds()).isGreaterThanOrEqualTo(b.holdSeconds() + 30)
                .isGreaterThanOrEqualTo(60);
    }

    @Test
    void graceCoversHoldRequestAndShutdown() {
        TrafficSpec t = traffic(Provider.INGRESS_NGINX);
        t.setSyncSeconds(30);
        DrainBudget b = DrainBudget.derive(t, drain(30, 10, 5), new StrategySpec());

        assertThat(b.propagationSeconds()).isEqualTo(32); // 30 s sync + 2 s watch
        assertThat(b.holdSeconds()).isEqualTo(37);
        assertThat(b.terminationGracePeriodSeconds()).isEqualTo(37 + 30 + 10);
    }

    @Test
    void loadBalancerProbingEveryFiveSecondsWithThreeFailuresNeedsNineteenSeconds() {
        TrafficSpec t = traffic(Provider.HEALTH_PROBE);
        t.setProbe(probe(5, 4, 3, 2));
        DrainBudget b = DrainBudget.derive(t, drain(30, 5, 5), new StrategySpec());

        assertThat(b.propagationSeconds()).isEqualTo(19);
        assertThat(b.minReadySeconds()).isEqualTo(10); // 5 s x 2 healthy checks
        assertThat(b.derivation()).contains("probe 5s x 3 unhealthy 15s").contains("probe timeout 4s");
    }

    @Test
    void healthProbeDefaultsAreTheReportedFifteenToTwentySeconds() {
        DrainBudget b = DrainBudget.derive(traffic(Provider.HEALTH_PROBE), drain(30, 5, 5), new StrategySpec());

        assertThat(b.propagationSeconds()).isBetween(15, 20);
        assertThat(b.derivation()).contains("default");
    }

    @Test
    void traefikPropagationIsThrottlePlusWatch() {
        TrafficSpec t = traffic(Provider.TRAEFIK);
        t.setThrottleSeconds(10);
        DrainBudget b = DrainBudget.derive(t, drain(30, 0, 5), new StrategySpec());

        assertThat(b.propagationSeconds()).isEqualTo(12);
        assertThat(b.holdSeconds()).isEqualTo(17);
        assertThat(b.terminationGracePeriodSeconds()).isEqualTo(47);
        assertThat(b.derivation()).startsWith(
                "grace 47s = propagation 12s (traefik throttle 10s + watch 2s) + margin 5s + request 30s + shutdown 0s");
    }

    @Test
    void watchBasedControllersNeedNoWarmInButProbingBalancersDo() {
        TrafficSpec traefik = traffic(Provider.TRAEFIK);
        traefik.setThrottleSeconds(10);
        assertThat(DrainBudget.derive(traefik, drain(30, 5, 5), new StrategySpec()).minReadySeconds()).isZero();
        assertThat(DrainBudget.derive(traffic(Provider.GCE), drain(30, 5, 5), new StrategySpec()).minReadySeconds())
                .isEqualTo(2 + 5 * 2);
    }

    @Test
    void envoyPropagationIsTheControlPlanesPushPlusWatchAndNeedsNoWarmIn() {
        DrainBudget b = DrainBudget.derive(traffic(Provider.ENVOY), drain(30, 5, 5), new StrategySpec());

        assertThat(b.propagationSeconds()).isEqualTo(3);
        assertThat(b.derivation()).contains("propagation 3s (envoy xDS push 1s default + watch 2s)");
        assertThat(b.minReadySeconds()).isZero();
        TrafficSpec overridden = traffic(Provider.ENVOY);
        overridden.setPropagationSeconds(9);
        assertThat(DrainBudget.derive(overridden, drain(30, 5, 5), new StrategySpec()).propagationSeconds()).isEqualTo(9);
    }

    @Test
    void traefikDefaultThrottleIsTwoSecondsAndShownAsDefault() {
        DrainBudget b = DrainBudget.derive(traffic(Provider.TRAEFIK), drain(30, 5, 5), new StrategySpec());

        assertThat(b.propagationSeconds()).isEqualTo(4);
        assertThat(b.derivation()).contains("traefik throttle 2s default");
    }

    @Test
    void albDeregistrationDelayCoveringTwiceTheLongestRequestIsAccepted() {
        TrafficSpec t = traffic(Provider.AWS_ALB);
        t.setDeregistrationDelaySeconds(60);
        DrainBudget b = DrainBudget.derive(t, drain(30, 5, 5), new StrategySpec());

        assertThat(b.warnings()).isEmpty();
        assertThat(b.holdSeconds()).isGreaterThanOrEqualTo(60);
        assertThat(b.terminationGracePeriodSeconds()).isGreaterThanOrEqualTo(60 + 30);
    }

    @Test
    void albDeregistrationDelayShorterThanTwiceTheLongestRequestIsFlagged() {
        TrafficSpec t = traffic(Provider.AWS_ALB);
        t.setDeregistrationDelaySeconds(45);
        DrainBudget b = DrainBudget.derive(t, drain(30, 5, 5), new StrategySpec());

        assertThat(b.warnings()).singleElement().asString()
                .contains("45s").contains("twice the longest request (60s)");
    }

    @Test
    void albDefaultsToAwsDeregistrationDelayOfThreeHundredSeconds() {
        DrainBudget b = DrainBudget.derive(traffic(Provider.AWS_ALB), drain(30, 5, 5), new StrategySpec());

        assertThat(b.propagationSeconds()).isEqualTo(302);
        assertThat(b.warnings()).isEmpty();
    }

    @Test
    void everyProviderHasAProfileWithPositiveTimings() {
        for (Provider p : Provider.values()) {
            TrafficSpec t = traffic(p);
            if (p == Provider.GENERIC) {
                t.setPropagationSeconds(7);
            }
            DrainBudget b = DrainBudget.derive(t, drain(30, 5, 5), new StrategySpec());
            assertThat(b.propagationSeconds()).as(p.value()).isPositive();
            assertThat(b.holdSeconds()).as(p.value()).isEqualTo(b.propagationSeconds() + 5);
            assertThat(b.terminationGracePeriodSeconds()).as(p.value()).isEqualTo(b.holdSeconds() + 35);
            assertThat(b.minReadySeconds()).as(p.value()).isNotNegative();
        }
    }

    @Test
    void propagationOverrideWinsAndIsShownAsOverride() {
        TrafficSpec t = traffic(Provider.TRAEFIK);
        t.setPropagationSeconds(20);
        DrainBudget b = DrainBudget.derive(t, drain(30, 5, 5), new StrategySpec());

        assertThat(b.propagationSeconds()).isEqualTo(20);
        assertThat(b.holdSeconds()).isEqualTo(25);
        assertThat(b.derivation()).contains("propagation 20s (override; profile gives 4s");
    }

    @Test
    void holdGraceAndMinReadyOverridesWinAndAreShownAsOverrides() {
        TrafficSpec t = traffic(Provider.TRAEFIK);
        DrainSpec d = drain(30, 5, 5);
        d.setHoldSeconds(40);
        d.setTerminationGracePeriodSeconds(100);
        StrategySpec s = new StrategySpec();
        s.setMinReadySeconds(3);
        DrainBudget b = DrainBudget.derive(t, d, s);

        assertThat(b.holdSeconds()).isEqualTo(40);
        assertThat(b.terminationGracePeriodSeconds()).isEqualTo(100);
        assertThat(b.minReadySeconds()).isEqualTo(3);
        assertThat(b.derivation()).contains("grace 100s (override; needs 75s)")
                .contains("hold 40s (override)").contains("warm-in 3s (override)");
    }

    @Test
    void holdOverrideBelowPropagationIsRefused() {
        TrafficSpec t = traffic(Provider.HEALTH_PROBE);
        DrainSpec d = drain(30, 5, 5);
        d.setHoldSeconds(10);

        assertThatThrownBy(() -> DrainBudget.derive(t, d, new StrategySpec()))
                .isInstanceOf(InvalidSpecException.class)
                .hasMessageContaining("holdSeconds 10 is below the propagation time 19s");
    }

    @Test
    void graceOverrideThatWouldCutTheDrainIsRefused() {
        TrafficSpec t = traffic(Provider.TRAEFIK);
        DrainSpec d = drain(30, 5, 5);
        d.setTerminationGracePeriodSeconds(30);

        assertThatThrownBy(() -> DrainBudget.derive(t, d, new StrategySpec()))
                .isInstanceOf(InvalidSpecException.class)
                .hasMessageContaining("below hold 9s + request 30s + shutdown 5s = 44s");
    }

    @Test
    void absurdGraceIsRefused() {
        TrafficSpec t = traffic(Provider.GENERIC);
        t.setPropagationSeconds(3600);
        DrainSpec d = drain(3600, 600, 300);

        assertThatThrownBy(() -> DrainBudget.derive(t, d, new StrategySpec()))
                .isInstanceOf(InvalidSpecException.class)
                .hasMessageContaining("exceeds 7200s");
    }

    @Test
    void genericWithoutPropagationIsRefusedRatherThanGuessed() {
        assertThatThrownBy(() -> DrainBudget.derive(traffic(Provider.GENERIC), drain(30, 5, 5), new StrategySpec()))
                .isInstanceOf(InvalidSpecException.class)
                .hasMessageContaining("propagationSeconds");
    }

    @Test
    void hashChangesWithTimingsAndMode() {
        TrafficSpec t = traffic(Provider.TRAEFIK);
        DrainBudget a = DrainBudget.derive(t, drain(30, 5, 5), new StrategySpec());
        t.setThrottleSeconds(3);
        DrainBudget b = DrainBudget.derive(t, drain(30, 5, 5), new StrategySpec());

        assertThat(a.hash(DrainSpec.Mode.GATE)).isNotEqualTo(b.hash(DrainSpec.Mode.GATE));
        assertThat(a.hash(DrainSpec.Mode.GATE)).isNotEqualTo(a.hash(DrainSpec.Mode.SLEEP));
        assertThat(a.hash(DrainSpec.Mode.GATE)).isEqualTo(
                DrainBudget.derive(traffic(Provider.TRAEFIK), drain(30, 5, 5), new StrategySpec()).hash(DrainSpec.Mode.GATE));
    }
    private static StreamsSpec streams(int windDown) {
        StreamsSpec s = new StreamsSpec();
        s.setWindDownSeconds(windDown);
        return s;
    }

    @Test
    void theStreamWindDownIsATermOfTheGraceAndTheDerivationNamesIt() {
        TrafficSpec t = traffic(Provider.TRAEFIK);
        t.setThrottleSeconds(10);
        DrainSpec d = drain(30, 5, 5);
        DrainBudget without = DrainBudget.derive(t, d, new StrategySpec());
        StreamsSpec s = streams(30);
        StreamSignal signal = new StreamSignal();
        signal.setPath("/drain-streams");
        signal.setPort(new IntOrString(8080));
        s.setSignal(signal);
        s.setPorts(List.of(new IntOrString(8080), new IntOrString("ws")));
        d.setStreams(s);
        DrainBudget with = DrainBudget.derive(t, d, new StrategySpec());

        assertThat(with.holdSeconds()).isEqualTo(without.holdSeconds()).isEqualTo(17);
        assertThat(with.terminationGracePeriodSeconds()).isEqualTo(without.terminationGracePeriodSeconds() + 30).isEqualTo(82);
        assertThat(with.derivation()).startsWith("grace 82s = propagation 12s (traefik throttle 10s + watch 2s) + margin 5s"
                + " + stream wind-down 30s (drain.streams.windDownSeconds: signal GET /drain-streams on port 8080,"
                + " then until no connection is left on 8080,ws) + request 30s + shutdown 5s;");
        assertThat(with.hash(DrainSpec.Mode.GATE)).as("a new wind-down rolls the pods").isNotEqualTo(without.hash(DrainSpec.Mode.GATE));

        s.setSignal(null);
        s.setPorts(null);
        s.setWaitForConnections(false);
        assertThat(DrainBudget.derive(t, d, new StrategySpec()).derivation()).contains("+ stream wind-down 30s "
                + "(drain.streams.windDownSeconds: the container's own preStop is the signal, then SIGTERM at once) + request");

        s.setWindDownSeconds(0);
        assertThat(DrainBudget.derive(t, d, new StrategySpec()).derivation()).isEqualTo(without.derivation());
    }

    @Test
    void aGraceOverrideMustCoverTheStreamWindDown() {
        DrainSpec d = drain(30, 5, 5);
        d.setStreams(streams(30));
        d.setTerminationGracePeriodSeconds(60);
        TrafficSpec t = traffic(Provider.TRAEFIK);
        t.setThrottleSeconds(10);
        assertThatThrownBy(() -> DrainBudget.derive(t, d, new StrategySpec())).isInstanceOf(InvalidSpecException.class)
                .hasMessage("drain.terminationGracePeriodSeconds 60 is below hold 17s + stream wind-down 30s + request 30s"
                        + " + shutdown 5s = 82s: the kubelet would kill pods before they finish draining; raise it to at least"
                        + " 82 or remove it");
        d.setTerminationGracePeriodSeconds(90);
        assertThat(DrainBudget.derive(t, d, new StrategySpec()).derivation()).startsWith("grace 90s (override; needs 82s"
                + " + stream wind-down 30s");
    }

    @Test
    void badStreamSettingsAreRefusedWithWhatToFix() {
        TrafficSpec t = traffic(Provider.TRAEFIK);
        DrainSpec d = drain(30, 5, 5);
        d.setStreams(streams(-1));
        assertThatThrownBy(() -> DrainBudget.derive(t, d, null)).isInstanceOf(InvalidSpecException.class)
                .hasMessageContaining("drain.streams.windDownSeconds -1 is outside 0-3600");
        d.setStreams(streams(100_000));
        assertThatThrownBy(() -> DrainBudget.derive(t, d, null)).hasMessageContaining("100000 is outside 0-3600");
        StreamsSpec zero = streams(0);
        zero.setPorts(List.of(new IntOrString(8080)));
        d.setStreams(zero);
        assertThatThrownBy(() -> DrainBudget.derive(t, d, null))
                .hasMessageContaining("drain.streams.signal and drain.streams.ports need drain.streams.windDownSeconds above 0");
        d.setStreams(streams(10));
        d.setMode(DrainSpec.Mode.SLEEP);
        assertThatThrownBy(() -> DrainBudget.derive(t, d, null)).hasMessageContaining("needs drain.mode gate");
        // The largest wind-down with the largest other terms still meets the grace bound's message.
        DrainSpec big = drain(3600, 600, 300);
        big.setStreams(streams(3600));
        assertThatThrownBy(() -> DrainBudget.derive(t, big, null)).hasMessageContaining("drain.streams.windDownSeconds");
    }
}
