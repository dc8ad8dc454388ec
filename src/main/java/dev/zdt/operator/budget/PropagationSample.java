package dev.zdt.operator.budget;

import java.util.Map;
import java.util.Set;

/**
 * One drain as the gate measured it: for each front-end replica asked, seconds from the hold's
 * start until it stopped routing to the pod.
 *
 * @param frontEnd the front end's name, e.g. Traefik
 * @param holdSeconds the hold the pod had
 * @param seconds per replica (as the tenant may read its name); a late replica's figure is when it
 *        was last seen routing or the follow-up limit, a lower bound
 * @param late the replicas still routing to the pod when its hold ended at the bound
 */
public record PropagationSample(String pod, String frontEnd, int holdSeconds, Map<String, Double> seconds,
        Set<String> late) {

    public PropagationSample {
        seconds = Map.copyOf(seconds);
        late = Set.copyOf(late);
    }

    /** The slowest replica, the one whose figure is the drain's. */
    public String slowest() {
        return seconds.entrySet().stream().max(Map.Entry.<String, Double>comparingByValue()
                .thenComparing(Map.Entry.comparingByKey())).map(Map.Entry::getKey).orElse(null);
    }

    public double max() {
        return seconds.values().stream().mapToDouble(Double::doubleValue).max().orElse(0);
    }
}
