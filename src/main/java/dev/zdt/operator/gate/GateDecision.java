package dev.zdt.operator.gate;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

import dev.zdt.operator.api.v1alpha1.DrainRecord.ReleasedBy;
import dev.zdt.operator.api.v1alpha1.TrafficSpec.Verify;

/**
 * Whether a gate call holds or is released: a pure function of what the informers and the front
 * end showed, the clock and the drain budget. No client, no clock of its own.
 *
 * <p>A call waits for all its target pods. A target is verified when the EndpointSlices no longer
 * offer it as ready and then: {@code endpoints}: the propagation time P has passed since that was
 * first seen; {@code ingress}: the front end no longer routes to its address (an unreachable front
 * end is unknown, never "removed"); {@code none}: never, the call holds the full bound. All
 * verified: released {@code Verified}, or {@code Bypassed} when no other ready endpoint serves the
 * app (the gate says so in an Event rather than hang). Otherwise the hold bound H, counted from the
 * call's arrival, releases it with {@code Timeout}. Nothing else ends a hold.
 *
 * <p>{@link Check} accumulates targets one at a time, so that calls whose targets are prefixes of
 * one another (many pods of one app terminating together) share the work.
 */
public final class GateDecision {

    /** How many pods a message names before it says "and N more". */
    static final int NAMED = 3;

    private GateDecision() {
    }

    /** What the front end says about a target's address. */
    public enum Ingress {
        /** The front end still routes to the address. */
        ROUTED,
        /** The front end no longer lists the address. */
        GONE,
        /** The front end could not be asked (unreachable API, no answer yet). */
        UNKNOWN
    }

    /**
     * One pod a call waits for.
     *
     * @param outOfRotationSince first moment the EndpointSlices were seen not offering it as ready; null while they do
     * @param ingressDetail why the front end's answer is {@link Ingress#UNKNOWN}; for the other answers
     *        which replicas gave it (for messages), or null
     */
    public record Target(String pod, String address, Instant outOfRotationSince, Ingress ingress,
            String ingressDetail) {
    }

    /** The rules that do not depend on the call: the clock, P, the verify mode. */
    public record Rules(Instant now, Duration propagation, Verify verify, String frontEnd) {
    }

    /**
     * Everything at once, for one call.
     *
     * @param frontEnd name of the front end in messages, e.g. "Traefik"
     * @param otherReadyEndpoints ready endpoints of the app's Service that are not targets of this call
     */
    public record Inputs(Instant arrived, Instant now, Duration hold, Duration propagation, Verify verify,
            String frontEnd, List<Target> targets, int otherReadyEndpoints) {
    }

    public sealed interface Outcome permits Hold, Release {
    }

    /**
     * Keep holding.
     *
     * @param wakeAt the next moment time alone can change the outcome (P elapsing for a target, or H)
     * @param waitingFor what is still missing, for people
     */
    public record Hold(Instant wakeAt, String waitingFor) implements Outcome {
    }

    /** Answer the call. {@code lastServer}: no other ready endpoint serves the app. */
    public record Release(ReleasedBy by, String message, boolean lastServer) implements Outcome {
    }

    public static Outcome decide(Inputs in) {
        Rules rules = new Rules(in.now(), in.propagation(), in.verify(), in.frontEnd());
        Check check = Check.NONE;
        for (Target t : in.targets()) {
            check = check.with(rules, t);
        }
        return decide(in.arrived(), in.now(), in.hold(), in.verify(), check, in.otherReadyEndpoints(), in.arrived());
    }

    /**
     * @param targetsSettleAt until when more targets may still join the check: a call that does not
     *        name its pod (httpGet mode) waits for every pod seen terminating up to then, so no
     *        verified release comes earlier; the call's arrival for a call that names its pod
     */
    public static Outcome decide(Instant arrived, Instant now, Duration hold, Verify verify, Check check,
            int otherReadyEndpoints, Instant targetsSettleAt) {
        Instant bound = arrived.plus(hold);
        if (check.complete() && now.isBefore(targetsSettleAt) && now.isBefore(bound)) {
            return new Hold(targetsSettleAt.isBefore(bound) ? targetsSettleAt : bound, "the call does not name its pod: pods that start terminating until "
                    + seconds(arrived, targetsSettleAt) + " after it arrived are waited for too");
        }
        if (check.complete()) {
            String what = check.verifiedText();
            if (otherReadyEndpoints <= 0) {
                return new Release(ReleasedBy.BYPASSED, "no other ready endpoint serves the app; released once "
                        + what + ", so the app has no server until a new pod is ready", true);
            }
            return new Release(ReleasedBy.VERIFIED, what, false);
        }
        if (!now.isBefore(bound)) {
            String why = verify == Verify.NONE
                    ? "verify: none, held the full hold of " + seconds(hold) + " by design"
                    : "hold bound " + seconds(hold) + " reached: " + check.missingText();
            return new Release(ReleasedBy.TIMEOUT, why, otherReadyEndpoints <= 0);
        }
        Instant wake = check.wakeAt() != null && check.wakeAt().isBefore(bound) ? check.wakeAt() : bound;
        return new Hold(wake, check.targets() == 0 ? "no target pod" : check.missingText());
    }

    /** The verification of a set of targets, built one target at a time; immutable. */
    public static final class Check {

        public static final Check NONE = new Check(0, 0, null, List.of(), List.of());

        private final int targets;
        private final int missing;
        private final Instant wakeAt;
        private final List<String> missingNamed;
        private final List<String> verifiedNamed;

        private Check(int targets, int missing, Instant wakeAt, List<String> missingNamed, List<String> verifiedNamed) {
            this.targets = targets;
            this.missing = missing;
            this.wakeAt = wakeAt;
            this.missingNamed = missingNamed;
            this.verifiedNamed = verifiedNamed;
        }

        public Check with(Rules rules, Target t) {
            String why = null;
            String ok = null;
            Instant wake = wakeAt;
            boolean name = missingNamed.size() < NAMED;
            if (t.outOfRotationSince() == null) {
                why = name ? "the EndpointSlices still offer " + t.pod() + " as ready" : "";
            } else {
                switch (rules.verify()) {
                    case ENDPOINTS -> {
                        Instant propagated = t.outOfRotationSince().plus(rules.propagation());
                        if (rules.now().isBefore(propagated)) {
                            why = name ? t.pod() + " left the EndpointSlices " + seconds(t.outOfRotationSince(), rules.now())
                                    + " ago, propagation is " + seconds(rules.propagation()) : "";
                            wake = wake == null || propagated.isBefore(wake) ? propagated : wake;
                        } else if (verifiedNamed.size() < NAMED) {
                            ok = t.pod() + " out of the EndpointSlices for " + seconds(t.outOfRotationSince(), rules.now())
                                    + " (propagation " + seconds(rules.propagation()) + ")";
                        }
                    }
                    case INGRESS -> {
                        switch (t.ingress()) {
                            case GONE -> ok = verifiedNamed.size() < NAMED
                                    ? t.pod() + " (" + t.address() + ") no longer routed to by " + rules.frontEnd()
                                            + suffix(t.ingressDetail()) : null;
                            case ROUTED -> why = name ? rules.frontEnd() + " still routes to " + t.pod() + " (" + t.address() + ")"
                                    + suffix(t.ingressDetail()) : "";
                            case UNKNOWN -> why = name ? rules.frontEnd() + " cannot confirm that " + t.pod()
                                    + " is no longer routed to: " + t.ingressDetail() : "";
                        }
                    }
                    case NONE -> why = name ? "verify: none holds " + t.pod() + " for the full hold" : "";
                }
            }
            if (why != null) {
                return new Check(targets + 1, missing + 1, wake, name ? append(missingNamed, why) : missingNamed,
                        verifiedNamed);
            }
            return new Check(targets + 1, missing, wake, missingNamed, ok != null ? append(verifiedNamed, ok) : verifiedNamed);
        }

        /** At least one target, and every target verified. */
        public boolean complete() {
            return targets > 0 && missing == 0;
        }

        public int targets() {
            return targets;
        }

        /** Earliest moment a target's propagation time elapses, or null. */
        public Instant wakeAt() {
            return wakeAt;
        }

        String missingText() {
            return String.join("; ", missingNamed) + (missing > missingNamed.size()
                    ? "; and " + (missing - missingNamed.size()) + " more pods" : "");
        }

        String verifiedText() {
            int verified = targets - missing;
            return String.join("; ", verifiedNamed) + (verified > verifiedNamed.size()
                    ? "; and " + (verified - verifiedNamed.size()) + " more pods" : "");
        }

        private static List<String> append(List<String> list, String s) {
            List<String> copy = new ArrayList<>(list.size() + 1);
            copy.addAll(list);
            copy.add(s);
            return List.copyOf(copy);
        }
    }

    private static String suffix(String detail) {
        return detail == null || detail.isEmpty() ? "" : " " + detail;
    }

    static String seconds(Instant from, Instant to) {
        return seconds(Duration.between(from, to));
    }

    static String seconds(Duration d) {
        return String.format(Locale.ROOT, "%.1fs", d.toMillis() / 1000.0);
    }
}
