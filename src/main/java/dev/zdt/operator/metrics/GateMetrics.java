package dev.zdt.operator.metrics;

import java.time.Duration;
import java.util.EnumMap;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;

import jakarta.enterprise.context.ApplicationScoped;

import dev.zdt.operator.api.v1alpha1.DrainRecord.ReleasedBy;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.DistributionSummary;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;

/**
 * The drain gate's meters, as Prometheus shows them at /q/metrics:
 * {@code zdt_gate_holds_in_flight}, {@code zdt_gate_hold_seconds{outcome}},
 * {@code zdt_drains_total{outcome}}, {@code zdt_propagation_observed_seconds},
 * {@code zdt_gate_calls_authenticated_total{token}},
 * {@code zdt_frontend_propagation_seconds{namespace,app,frontend}}.
 */
@ApplicationScoped
public class GateMetrics {

    private final AtomicInteger inFlight;
    private final Map<ReleasedBy, Timer> holds = new EnumMap<>(ReleasedBy.class);
    private final Map<ReleasedBy, Counter> drains = new EnumMap<>(ReleasedBy.class);
    private final Timer propagation;
    private final Map<String, Counter> calls = new java.util.HashMap<>();
    private final MeterRegistry registry;
    /** Per namespace/app/front end, the measured propagation; at most {@link #APP_SERIES}, then one series for the rest. */
    private final Map<String, DistributionSummary> measured = new java.util.concurrent.ConcurrentHashMap<>();

    /** Apps with a propagation series of their own: a bound on the series a tenant's apps can create. */
    public static final int APP_SERIES = 1000;
    /** The buckets of zdt_frontend_propagation_seconds: fixed, so that a series costs a known few lines. */
    static final double[] PROPAGATION_BUCKETS = { 1, 2, 5, 10, 15, 20, 30, 45, 60, 90, 120, 180, 300 };

    public GateMetrics(MeterRegistry registry) {
        this.registry = registry;
        inFlight = registry.gauge("zdt.gate.holds.in.flight", new AtomicInteger());
        // Registered up front so every outcome shows (as zero) before the first drain.
        for (ReleasedBy outcome : ReleasedBy.values()) {
            String tag = outcome(outcome);
            holds.put(outcome, Timer.builder("zdt.gate.hold")
                    .description("How long the drain gate held a pod before letting SIGTERM through")
                    .tag("outcome", tag)
                    .publishPercentileHistogram()
                    .minimumExpectedValue(Duration.ofMillis(10))
                    .maximumExpectedValue(Duration.ofMinutes(10))
                    .register(registry));
            drains.put(outcome, Counter.builder("zdt.drains")
                    .description("Drains answered by the gate, by how they were released")
                    .tag("outcome", tag)
                    .register(registry));
        }
        propagation = Timer.builder("zdt.propagation.observed")
                .description("Time from a pod leaving the EndpointSlices to the ingress controller dropping it")
                .publishPercentileHistogram()
                .minimumExpectedValue(Duration.ofMillis(10))
                .maximumExpectedValue(Duration.ofMinutes(10))
                .register(registry);
        for (String token : new String[] { "pod", "current", "previous", "invalid", "other-pod", "unchecked",
                "expired-app-token" }) {
            calls.put(token, Counter.builder("zdt.gate.calls.authenticated")
                    .description("Gate calls by how they were authenticated: pod (the pod's own token, reviewed), "
                            + "current or previous (an app token under that key; no more calls with token=previous "
                            + "means the previous key can be removed), invalid (refused with 401), other-pod (a pod's "
                            + "token naming another pod, 403), unchecked (the review was refused 429 or failed 503), "
                            + "expired-app-token (an app token after zdt.gate.auth.legacy-window, 401)")
                    .tag("token", token)
                    .register(registry));
        }
    }

    /** A call's credential was checked; see the counter's description for the values. */
    public void called(String token) {
        calls.get(token).increment();
    }

    public void holdStarted() {
        inFlight.incrementAndGet();
    }

    /** A held call ended without a drain (refused after waiting, or the operator stopping). */
    public void holdAbandoned() {
        inFlight.decrementAndGet();
    }

    public void released(ReleasedBy outcome, Duration held) {
        inFlight.decrementAndGet();
        holds.get(outcome).record(held);
        drains.get(outcome).increment();
    }

    public void propagationObserved(Duration d) {
        propagation.record(d);
    }

    /**
     * One front-end replica's measured propagation for one drain: seconds from the hold's start until
     * it stopped routing to the pod. Labelled by namespace, app and front end, never by replica.
     */
    public void propagationMeasured(String namespace, String app, String frontEnd, double seconds) {
        String key = namespace + "/" + app + "/" + frontEnd;
        DistributionSummary summary = measured.get(key);
        if (summary == null) {
            boolean own = measured.size() < APP_SERIES;
            String ns = own ? namespace : "_other";
            String name = own ? app : "_other";
            summary = measured.computeIfAbsent(own ? key : "_other/_other/" + frontEnd,
                    k -> DistributionSummary.builder("zdt.frontend.propagation")
                            .description("Seconds from a drain's hold start until a front-end replica stopped routing to the pod, "
                                    + "per drain and replica (verify: ingress)")
                            .baseUnit("seconds")
                            .tag("namespace", ns).tag("app", name).tag("frontend", frontEnd)
                            .serviceLevelObjectives(PROPAGATION_BUCKETS)
                            .register(registry));
        }
        summary.record(seconds);
    }

    public int inFlight() {
        return inFlight.get();
    }

    /** The same word as status.lastDrains[].releasedBy. */
    public static String outcome(ReleasedBy by) {
        return switch (by) {
            case VERIFIED -> "Verified";
            case TIMEOUT -> "Timeout";
            case BYPASSED -> "Bypassed";
        };
    }
}
