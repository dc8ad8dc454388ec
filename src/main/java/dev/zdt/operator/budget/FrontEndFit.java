package dev.zdt.operator.budget;

import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.Optional;

import dev.zdt.operator.api.v1alpha1.ObservedPropagation;
import dev.zdt.operator.api.v1alpha1.PropagationDrain;

/**
 * Whether the front end, as measured, still fits the budget: pure. A drain does not fit when its
 * hold ended at the bound while a replica still routed to the pod, or when its slowest replica took
 * longer than the hold less the safety margin (the margin is for slow days, not for every day).
 * The front end is slower than the budget from the newest drain that did not fit until
 * {@link #FITTING_TO_CLEAR} drains in a row fit again.
 */
public final class FrontEndFit {

    /** Drains in a row that fit before the condition clears: one could be luck, three is a pattern. */
    public static final int FITTING_TO_CLEAR = 3;
    public static final String REASON = "FrontEndSlowerThanBudget";

    private FrontEndFit() {
    }

    /** Whether one drain fits the hold it had. */
    static boolean fits(PropagationDrain d, int marginSeconds) {
        if (Boolean.TRUE.equals(d.getLate())) {
            return false;
        }
        if (d.getSeconds() == null || d.getHoldSeconds() == null) {
            return true;
        }
        return d.getSeconds() <= d.getHoldSeconds() - marginSeconds;
    }

    /**
     * The message of the condition, or empty when the front end fits.
     *
     * @param marginSeconds the app's safety margin
     */
    public static Optional<String> slower(ObservedPropagation o, int marginSeconds) {
        if (o == null || o.getRecent() == null) {
            return Optional.empty();
        }
        List<PropagationDrain> recent = o.getRecent().stream().filter(Objects::nonNull).toList();
        int fitting = 0;
        PropagationDrain misfit = null;
        for (PropagationDrain d : recent) {
            if (fits(d, marginSeconds)) {
                fitting++;
            } else {
                misfit = d;
                break;
            }
        }
        if (misfit == null || fitting >= FITTING_TO_CLEAR) {
            return Optional.empty();
        }
        double max = o.getMaxSeconds() == null ? 0 : o.getMaxSeconds();
        int cover = (int) Math.ceil(max);
        String what = Boolean.TRUE.equals(misfit.getLate())
                ? " still routed to pod " + misfit.getPod() + " when its hold of " + misfit.getHoldSeconds()
                        + "s ended (it stopped " + seconds(misfit.getSeconds()) + " after the hold began)"
                : " took " + seconds(misfit.getSeconds()) + " to stop routing to pod " + misfit.getPod()
                        + ", within the safety margin of " + marginSeconds + "s of its hold of " + misfit.getHoldSeconds() + "s";
        return Optional.of(o.getFrontEnd() + " replica " + misfit.getReplica() + what
                + String.format(Locale.ROOT, "; last %d drains: median %s, p95 %s, max %s, %d held to the bound while a replica still routed",
                        o.getDrains(), seconds(o.getMedianSeconds()), seconds(o.getP95Seconds()), seconds(o.getMaxSeconds()),
                        o.getLateDrains() == null ? 0 : o.getLateDrains())
                + "; traffic.propagationSeconds: " + cover + " (hold " + (cover + marginSeconds)
                + "s) or drain.calibration.enabled: true would cover it; clears after " + FITTING_TO_CLEAR
                + " drains in a row that fit (" + fitting + " so far)");
    }

    private static String seconds(Double s) {
        return s == null ? "-" : String.format(Locale.ROOT, "%.1fs", s);
    }
}
