package dev.zdt.operator.budget;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

import dev.zdt.operator.api.v1alpha1.ObservedPropagation;
import dev.zdt.operator.api.v1alpha1.PropagationDrain;
import dev.zdt.operator.api.v1alpha1.ReplicaPropagation;

/**
 * The window of recent measured drains, folded into {@code status.observedPropagation}: pure. The
 * status is the window's only memory, so whichever operator replica measures a drain reads the
 * window back from the app, adds the drain and writes it again; nothing lives on one replica's heap.
 */
public final class PropagationWindow {

    /** Drains kept, per front end and per replica. */
    public static final int DRAINS = 20;
    /** Replicas kept; the ones seen longest ago go first (a restarted front end's old pods). */
    public static final int REPLICAS = 10;

    private PropagationWindow() {
    }

    /** The window with {@code sample} added as its newest drain. A different front end starts a new window. */
    public static ObservedPropagation add(ObservedPropagation before, PropagationSample sample) {
        boolean same = before != null && Objects.equals(before.getFrontEnd(), sample.frontEnd());
        ObservedPropagation after = new ObservedPropagation();
        after.setFrontEnd(sample.frontEnd());
        List<PropagationDrain> recent = new ArrayList<>();
        String slowest = sample.slowest();
        recent.add(new PropagationDrain(sample.pod(), round(sample.max()), slowest, sample.holdSeconds(),
                !sample.late().isEmpty()));
        if (same && before.getRecent() != null) {
            before.getRecent().stream().filter(Objects::nonNull).limit(DRAINS - 1).forEach(recent::add);
        }
        after.setRecent(recent);
        List<Double> figures = recent.stream().map(d -> d.getSeconds() == null ? 0.0 : d.getSeconds()).toList();
        fill(after, figures);
        after.setLateDrains((int) recent.stream().filter(d -> Boolean.TRUE.equals(d.getLate())).count());

        Map<String, ReplicaPropagation> replicas = new LinkedHashMap<>();
        sample.seconds().keySet().stream().sorted().forEach(name -> {
            ReplicaPropagation was = same ? find(before, name) : null;
            ReplicaPropagation r = new ReplicaPropagation();
            r.setReplica(name);
            List<Double> own = new ArrayList<>();
            own.add(round(sample.seconds().get(name)));
            if (was != null && was.getRecentSeconds() != null) {
                was.getRecentSeconds().stream().filter(Objects::nonNull).limit(DRAINS - 1).forEach(own::add);
            }
            r.setRecentSeconds(own);
            r.setDrains(own.size());
            r.setMedianSeconds(median(own));
            r.setP95Seconds(p95(own));
            r.setMaxSeconds(max(own));
            replicas.put(name, r);
        });
        if (same && before.getReplicas() != null) {
            for (ReplicaPropagation r : before.getReplicas()) {
                if (r != null && r.getReplica() != null && replicas.size() < REPLICAS) {
                    replicas.putIfAbsent(r.getReplica(), r);
                }
            }
        }
        // Counted from the window itself, so a late drain that falls out of it no longer counts.
        for (ReplicaPropagation r : replicas.values()) {
            r.setLateDrains((int) recent.stream()
                    .filter(d -> Boolean.TRUE.equals(d.getLate()) && r.getReplica().equals(d.getReplica())).count());
        }
        after.setReplicas(new ArrayList<>(replicas.values()).subList(0, Math.min(REPLICAS, replicas.size())));
        return after;
    }

    private static ReplicaPropagation find(ObservedPropagation o, String name) {
        return o.getReplicas() == null ? null
                : o.getReplicas().stream().filter(r -> r != null && name.equals(r.getReplica())).findFirst().orElse(null);
    }

    private static void fill(ObservedPropagation o, List<Double> figures) {
        o.setDrains(figures.size());
        o.setMedianSeconds(median(figures));
        o.setP95Seconds(p95(figures));
        o.setMaxSeconds(max(figures));
    }

    /** The median; of an even count, the mean of the two middle figures. */
    public static Double median(List<Double> figures) {
        if (figures.isEmpty()) {
            return null;
        }
        List<Double> sorted = figures.stream().sorted().toList();
        int n = sorted.size();
        return round(n % 2 == 1 ? sorted.get(n / 2) : (sorted.get(n / 2 - 1) + sorted.get(n / 2)) / 2);
    }

    /** The 95th percentile by nearest rank: the smallest figure at least 95 % of them do not exceed. */
    public static Double p95(List<Double> figures) {
        if (figures.isEmpty()) {
            return null;
        }
        List<Double> sorted = figures.stream().sorted().toList();
        int rank = (int) Math.ceil(0.95 * sorted.size());
        return round(sorted.get(Math.max(0, rank - 1)));
    }

    public static Double max(List<Double> figures) {
        return figures.stream().max(Double::compare).map(PropagationWindow::round).orElse(null);
    }

    static double round(double seconds) {
        return Math.round(seconds * 10) / 10.0;
    }
}
