package dev.zdt.operator.budget;

import java.math.BigDecimal;
import java.math.RoundingMode;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.stream.Collectors;

import dev.zdt.operator.api.InvalidSpecException;
import dev.zdt.operator.api.v1alpha1.CalibrationSpec;
import dev.zdt.operator.api.v1alpha1.DrainBudgetStatus;
import dev.zdt.operator.api.v1alpha1.ObservedPropagation;
import dev.zdt.operator.api.v1alpha1.DrainSpec;
import dev.zdt.operator.api.v1alpha1.Provider;
import dev.zdt.operator.api.v1alpha1.StrategySpec;
import dev.zdt.operator.api.v1alpha1.StreamSignal;
import dev.zdt.operator.api.v1alpha1.StreamsSpec;
import dev.zdt.operator.api.v1alpha1.TrafficSpec;
import dev.zdt.operator.api.v1alpha1.ZeroDowntimeApp;
import dev.zdt.operator.budget.ProviderProfile.Term;
import io.fabric8.kubernetes.api.model.IntOrString;

/**
 * The drain budget: how long a terminating pod must stay in service, derived from how fast the
 * front end learns about endpoint changes. A pure function of the spec.
 *
 * <ul>
 * <li>propagation P: endpoint removed until the front end stops sending (per provider profile);</li>
 * <li>hold H = P + safety margin: the gate's bound before SIGTERM;</li>
 * <li>grace = H + stream wind-down + maxRequest + shutdown: the kubelet counts the preStop hook inside the
 * grace period, and the stream phase is part of the hook;</li>
 * <li>minReadySeconds: the front end's warm-in time for a new pod.</li>
 * </ul>
 * A user override of any derived value wins and is marked as such in the derivation.
 */
public record DrainBudget(
        int propagationSeconds,
        int holdSeconds,
        int terminationGracePeriodSeconds,
        int minReadySeconds,
        String derivation,
        List<String> warnings) {

    /** Longest grace the operator will set: beyond this a node drain or rollout becomes unusable. */
    public static final int MAX_GRACE_SECONDS = 7200;

    /** Calibrated holds move in steps of this many seconds: a figure a little slower does not roll the pods again. */
    public static final int CALIBRATION_STEP = 5;

    /** Longest stream wind-down: as long as the longest request the API allows. */
    public static final int MAX_WIND_DOWN_SECONDS = 3600;

    /**
     * A calibrated hold covers twice the slowest figure measured. The window's maximum learns a
     * front end from below: a delay spread evenly up to its worst case (a throttle's is anywhere from
     * 0 to its length) stays under half that worst case in all of n drains with probability 0.5^n,
     * 12.5% after 3 drains, so the maximum alone was exceeded again on the cluster (19 s measured,
     * 26.5 s next). The hold is a bound: a verified drain still ends when the front end drops the
     * pod, so the headroom costs grace period, not rollout time.
     */
    public static final double CALIBRATION_HEADROOM = 2.0;

    public static DrainBudget derive(TrafficSpec traffic, DrainSpec drain, StrategySpec strategy) {
        return derive(traffic, drain, strategy, null);
    }

    /** An app's budget: its spec, and with calibration on, what the gate measured (its status.observedPropagation). */
    public static DrainBudget of(ZeroDowntimeApp app) {
        return derive(app.getSpec().getTraffic(), app.getSpec().getDrain(), app.getSpec().getStrategy(),
                app.getStatus() == null ? null : app.getStatus().getObservedPropagation());
    }

    /**
     * @param observed what the drain gate measured of the front end (status.observedPropagation), or
     *        null; used only when drain.calibration is enabled
     */
    public static DrainBudget derive(TrafficSpec traffic, DrainSpec drain, StrategySpec strategy,
            ObservedPropagation observed) {
        if (traffic == null || traffic.getProvider() == null) {
            throw new InvalidSpecException("traffic.provider is required");
        }
        DrainSpec d = drain != null ? drain : new DrainSpec();
        int margin = orDefault(d.getSafetyMarginSeconds(), 5);
        int request = orDefault(d.getMaxRequestSeconds(), 30);
        int shutdown = orDefault(d.getShutdownSeconds(), 5);
        int windDown = streamsWindDown(d);
        List<String> warnings = new ArrayList<>();

        List<Term> terms = ProviderProfile.propagation(traffic);
        int derivedPropagation = sum(terms);
        String propagationText;
        int propagation;
        if (traffic.getPropagationSeconds() != null && traffic.getProvider() != Provider.GENERIC) {
            propagation = traffic.getPropagationSeconds();
            propagationText = "propagation " + propagation + "s (override; profile gives " + derivedPropagation
                    + "s = " + join(terms) + ")";
        } else {
            propagation = derivedPropagation;
            propagationText = "propagation " + propagation + "s (" + join(terms) + ")";
        }

        int hold;
        String holdText;
        if (d.getHoldSeconds() != null) {
            hold = d.getHoldSeconds();
            if (hold < propagation) {
                throw new InvalidSpecException("drain.holdSeconds " + hold + " is below the propagation time "
                        + propagation + "s: pods would get SIGTERM while the front end still sends to them; "
                        + "raise drain.holdSeconds to at least " + propagation + " or remove it");
            }
            holdText = "hold " + hold + "s (override)";
        } else {
            hold = propagation + margin;
            holdText = "hold " + hold + "s = " + propagationText + " + margin " + margin + "s";
        }

        String calibrated = null;
        CalibrationSpec calibration = d.getCalibration();
        if (calibration != null && Boolean.TRUE.equals(calibration.getEnabled())) {
            Integer max = calibration.getMaxHoldSeconds();
            if (max == null || max < hold) {
                throw new InvalidSpecException("drain.calibration.maxHoldSeconds " + (max == null ? "is missing" : max
                        + " is below the derived hold " + hold + "s") + ": calibration may only lengthen the hold, "
                        + "never shorten it; set maxHoldSeconds to at least " + hold + " or disable calibration");
            }
            int ceiling = max;
            String bound = "maxHoldSeconds " + max + "s";
            if (d.getTerminationGracePeriodSeconds() != null
                    && d.getTerminationGracePeriodSeconds() - windDown - request - shutdown < ceiling) {
                ceiling = d.getTerminationGracePeriodSeconds() - windDown - request - shutdown;
                bound = "the grace override " + d.getTerminationGracePeriodSeconds() + "s less "
                        + (windDown > 0 ? "stream wind-down, " : "") + "request and shutdown";
            }
            if (traffic.getVerify() != TrafficSpec.Verify.INGRESS) {
                warnings.add("drain.calibration is enabled but traffic.verify is " + traffic.getVerify()
                        + ": only verify: ingress measures the front end, so the hold stays " + hold + "s");
            } else if (observed != null && observed.getMaxSeconds() != null && observed.getDrains() != null
                    && observed.getDrains() > 0) {
                double headroom = CALIBRATION_HEADROOM * observed.getMaxSeconds();
                int wanted = step((int) Math.ceil(headroom) + margin);
                int applied = Math.max(hold, Math.min(wanted, ceiling));
                calibrated = "hold " + applied + "s (calibrated: measured max " + observed.getMaxSeconds() + "s over "
                        + observed.getDrains() + " drains" + (observed.getRecent() == null || observed.getRecent().isEmpty()
                                ? "" : ", replica " + slowestReplica(observed))
                        + ", twice that " + BigDecimal.valueOf(headroom).setScale(1, RoundingMode.HALF_UP).toPlainString()
                        + "s + margin " + margin + "s, up to a multiple of " + CALIBRATION_STEP + "s = " + wanted + "s"
                        + (wanted > ceiling ? ", capped at " + bound : "") + (wanted < hold ? ", below the derived hold" : "")
                        + "; derived " + holdText + ")";
                if (wanted > ceiling) {
                    warnings.add("the front end measured up to " + observed.getMaxSeconds() + "s needs a hold of "
                            + wanted + "s, above " + bound + ": holds still end before the slowest replica stops routing; "
                            + "raise drain.calibration.maxHoldSeconds or fix the front end");
                }
                hold = applied;
                holdText = calibrated;
            } else {
                calibrated = "hold " + hold + "s (calibration on, nothing measured yet; " + holdText + ")";
                holdText = calibrated;
            }
        }

        int needed = hold + windDown + request + shutdown;
        String streamsText = windDown == 0 ? "" : " + " + streamsTerm(d.getStreams());
        int grace;
        String graceText;
        if (d.getTerminationGracePeriodSeconds() != null) {
            grace = d.getTerminationGracePeriodSeconds();
            if (grace < needed) {
                throw new InvalidSpecException("drain.terminationGracePeriodSeconds " + grace
                        + " is below hold " + hold + "s" + (windDown > 0 ? " + stream wind-down " + windDown + "s" : "")
                        + " + request " + request + "s + shutdown " + shutdown
                        + "s = " + needed + "s: the kubelet would kill pods before they finish draining; "
                        + "raise it to at least " + needed + " or remove it");
            }
            graceText = "grace " + grace + "s (override; needs " + needed + "s" + streamsText + ")";
        } else {
            grace = needed;
            graceText = "grace " + grace + "s = " + (d.getHoldSeconds() != null || calibrated != null ? "hold " + hold + "s"
                    : propagationText + " + margin " + margin + "s") + streamsText + " + request " + request
                    + "s + shutdown " + shutdown + "s";
        }
        if (grace > MAX_GRACE_SECONDS) {
            throw new InvalidSpecException("the derived terminationGracePeriodSeconds " + grace + "s exceeds "
                    + MAX_GRACE_SECONDS + "s; lower the provider's timings, drain.maxRequestSeconds, "
                    + "drain.streams.windDownSeconds or drain.shutdownSeconds");
        }

        List<Term> warmTerms = ProviderProfile.warmIn(traffic);
        int minReady;
        String warmText;
        if (strategy != null && strategy.getMinReadySeconds() != null) {
            minReady = strategy.getMinReadySeconds();
            warmText = "warm-in " + minReady + "s (override)";
        } else {
            minReady = sum(warmTerms);
            warmText = "warm-in " + minReady + "s (" + join(warmTerms) + ")";
        }

        if (traffic.getProvider() == Provider.AWS_ALB) {
            int delay = terms.stream().filter(t -> t.name().startsWith("alb")).mapToInt(Term::seconds).sum();
            if (delay < 2 * request) {
                warnings.add("the ALB deregistration delay " + delay + "s is shorter than twice the longest request ("
                        + 2 * request + "s): requests in flight on a draining target can be cut; raise the target "
                        + "group's deregistration_delay.timeout_seconds to at least " + 2 * request);
            }
        }

        String derivation = graceText + (d.getHoldSeconds() == null && calibrated == null ? "; hold " + hold + "s"
                : "; " + holdText) + "; " + warmText;
        return new DrainBudget(propagation, hold, grace, minReady, derivation, List.copyOf(warnings));
    }

    /**
     * The stream phase's wind-down; checked here with the other timings, so that a spec the API
     * server let through (an older CRD, a DrainPolicy) still gets a clear message.
     */
    private static int streamsWindDown(DrainSpec d) {
        StreamsSpec streams = d.getStreams();
        if (streams == null) {
            return 0;
        }
        int windDown = streams.windDown();
        if (windDown < 0 || windDown > MAX_WIND_DOWN_SECONDS) {
            throw new InvalidSpecException("drain.streams.windDownSeconds " + windDown + " is outside 0-"
                    + MAX_WIND_DOWN_SECONDS + "; set the seconds the app's streams need to end after its signal");
        }
        if (windDown == 0 && (streams.getSignal() != null || streams.getPorts() != null)) {
            throw new InvalidSpecException("drain.streams.signal and drain.streams.ports need drain.streams.windDownSeconds "
                    + "above 0: the stream phase has no time without it");
        }
        if (windDown > 0 && d.getMode() != null && d.getMode() != DrainSpec.Mode.GATE) {
            throw new InvalidSpecException("drain.streams.windDownSeconds needs drain.mode gate: only the drain helper "
                    + "runs the stream phase; set mode: gate or remove drain.streams");
        }
        return windDown;
    }

    /** The stream phase as the derivation line shows it: how long, what tells the app, and what SIGTERM waits for. */
    static String streamsTerm(StreamsSpec streams) {
        StringBuilder b = new StringBuilder("stream wind-down ").append(streams.windDown())
                .append("s (drain.streams.windDownSeconds: ");
        StreamSignal signal = streams.getSignal();
        if (signal != null) {
            b.append("signal GET ").append(signal.getPath() == null ? "/" : signal.getPath()).append(" on port ")
                    .append(portText(signal.getPort()));
        } else {
            b.append("the container's own preStop is the signal");
        }
        if (Boolean.FALSE.equals(streams.getWaitForConnections())) {
            b.append(", then SIGTERM at once");
        } else {
            b.append(", then until no connection is left on ").append(streams.getPorts() == null || streams.getPorts().isEmpty()
                    ? "the serving port" : streams.getPorts().stream().map(DrainBudget::portText).collect(Collectors.joining(",")));
        }
        return b.append(")").toString();
    }

    private static String portText(IntOrString port) {
        return port == null ? "?" : port.getStrVal() != null ? port.getStrVal() : String.valueOf(port.getIntVal());
    }

    /** A short, stable fingerprint of the timings, put on the pod template so a timing change rolls the pods. */
    public String hash(DrainSpec.Mode mode) {
        String canonical = propagationSeconds + "/" + holdSeconds + "/" + terminationGracePeriodSeconds + "/"
                + minReadySeconds + "/" + mode;
        try {
            byte[] digest = MessageDigest.getInstance("SHA-256").digest(canonical.getBytes(StandardCharsets.UTF_8));
            return HexFormat.of().formatHex(digest, 0, 6);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is part of every Java runtime", e);
        }
    }

    public DrainBudgetStatus toStatus(DrainSpec.Mode mode) {
        DrainBudgetStatus s = new DrainBudgetStatus();
        s.setPropagationSeconds(propagationSeconds);
        s.setHoldSeconds(holdSeconds);
        s.setTerminationGracePeriodSeconds(terminationGracePeriodSeconds);
        s.setMinReadySeconds(minReadySeconds);
        s.setDerivation(derivation);
        s.setHash(hash(mode));
        return s;
    }

    static int step(int seconds) {
        return (seconds + CALIBRATION_STEP - 1) / CALIBRATION_STEP * CALIBRATION_STEP;
    }

    private static String slowestReplica(ObservedPropagation o) {
        return o.getRecent().stream().filter(r -> r != null && r.getSeconds() != null)
                .max(java.util.Comparator.comparingDouble(r -> r.getSeconds())).map(r -> r.getReplica()).orElse("-");
    }

    private static int sum(List<Term> terms) {
        return terms.stream().mapToInt(Term::seconds).sum();
    }

    private static String join(List<Term> terms) {
        return terms.stream().map(Term::toString).collect(Collectors.joining(" + "));
    }

    private static int orDefault(Integer v, int d) {
        return v != null ? v : d;
    }
}
