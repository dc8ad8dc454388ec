package dev.zdt.operator.gate;

import dev.zdt.operator.Constants;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

import jakarta.annotation.PreDestroy;
import jakarta.annotation.Priority;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;

import org.jboss.logging.Logger;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import dev.zdt.operator.api.v1alpha1.DrainPolicy;
import dev.zdt.operator.api.v1alpha1.DrainRecord;
import dev.zdt.operator.api.v1alpha1.ObservedPropagation;
import dev.zdt.operator.budget.PropagationSample;
import dev.zdt.operator.budget.PropagationWindow;
import dev.zdt.operator.watch.StatusNudges;
import dev.zdt.operator.api.v1alpha1.ZeroDowntimeApp;
import dev.zdt.operator.metrics.GateMetrics;
import dev.zdt.operator.kube.EventRecorder;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.fabric8.kubernetes.client.dsl.base.PatchContext;
import io.fabric8.kubernetes.client.dsl.base.PatchType;
import io.quarkus.runtime.ShutdownEvent;

/**
 * Makes drains visible after the call is answered: Events, and {@code status.lastDrains} (newest
 * first, bounded). The reconciler applies the rest of the status server-side and never sends
 * lastDrains, so a JSON patch of that one field, guarded by the resourceVersion, does not fight it.
 * Runs on its own thread: a slow or unreachable API server never delays an answer. Its queue is
 * bounded ({@link #QUEUE}); past that, work is dropped and counted, never queued without limit.
 * Warnings a caller can cause at will ({@link #warningAggregated}) are written at most once per
 * app and reason per {@link #AGGREGATE}, with the count of the ones left out.
 */
@ApplicationScoped
public class DrainReporter {

    public static final int KEEP = 10;
    /** Drains released together up to this many are logged one line each; more, in one summary line. */
    static final int LOG_EACH = 10;
    static final String FIELD_MANAGER = "zdt-drain-gate";
    private static final Logger LOG = Logger.getLogger(DrainReporter.class);
    private static final int ATTEMPTS = 5;
    /** Tasks waiting for the reporter's thread at most. */
    static final int QUEUE = 10_000;
    /**
     * Aggregation windows kept at most (one per app and reason); past that the expired ones are
     * dropped, so warnings about apps long gone do not pile up.
     */
    static final int WINDOWS = 10_000;
    /** One aggregated Event per app and reason per this long. */
    static final Duration AGGREGATE = Duration.ofSeconds(60);

    private final KubernetesClient client;
    private final EventRecorder events;
    private final ObjectMapper json = new ObjectMapper();
    private final AtomicLong dropped = new AtomicLong();
    private final ThreadPoolExecutor worker = new ThreadPoolExecutor(1, 1, 0, TimeUnit.MILLISECONDS,
            new LinkedBlockingQueue<>(QUEUE), r -> {
                Thread t = new Thread(r, "zdt-drain-reporter");
                t.setDaemon(true);
                return t;
            }, (task, pool) -> {
                long n = dropped.incrementAndGet();
                if (pool.isShutdown()) {
                    LOG.warnf("drain reporter: a drain record or Event came after the reporter stopped and is lost (%d dropped so far)", n);
                } else if (n == 1 || n % 1000 == 0) {
                    LOG.warnf("drain reporter: %d Events or records dropped so far, its queue of %d is full", n, QUEUE);
                }
            });
    /** Per app and reason: the window of the aggregated warning last written. Reporter thread only. */
    private final Map<String, Window> windows = new HashMap<>();
    /** Records not yet written, per namespace/app, oldest first; written in one patch per app. */
    private final Map<String, List<DrainRecord>> pending = new LinkedHashMap<>();
    /** Measured drains not yet folded into status.observedPropagation, per namespace/app, oldest first. */
    private final Map<String, List<PropagationSample>> measuredPending = new LinkedHashMap<>();
    /** Told the app whose status.observedPropagation was written, so its conditions follow. */
    private final StatusNudges nudges;

    public DrainReporter(KubernetesClient client, EventRecorder events, StatusNudges nudges) {
        this.client = client;
        this.events = events;
        this.nudges = nudges;
    }

    /**
     * Drains whose front-end propagation was measured: folded into status.observedPropagation off
     * the caller's thread, in the same patch as the pending records. Kept at most
     * {@link PropagationWindow#DRAINS} per app while they wait: older ones would fall out of the window anyway.
     */
    public void measured(ZeroDowntimeApp app, List<PropagationSample> samples) {
        String key = app.getMetadata().getNamespace() + "/" + app.getMetadata().getName();
        if (!writesStatusOf(app.getMetadata().getName())) {
            return;
        }
        synchronized (pending) {
            List<PropagationSample> list = measuredPending.computeIfAbsent(key, k -> new ArrayList<>());
            list.addAll(samples);
            if (list.size() > PropagationWindow.DRAINS) {
                list.subList(0, list.size() - PropagationWindow.DRAINS).clear();
            }
        }
        worker.execute(this::flush);
    }

    /**
     * Drains of one app released together, oldest first: the records go to status.lastDrains, off the
     * caller's thread. Up to {@link #LOG_EACH} get a log line each; a larger batch (a burst) gets one
     * summary line, and its per-pod lines at DEBUG: a thousand lines cost CPU while the answers are
     * still being written, and tell an operator less than the summary and the metrics do. The lines
     * are written from the records on this bean's thread, not on the gate's.
     */
    public void drained(ZeroDowntimeApp app, List<DrainRecord> records) {
        String key = app.getMetadata().getNamespace() + "/" + app.getMetadata().getName();
        synchronized (pending) {
            pending.computeIfAbsent(key, k -> new ArrayList<>()).addAll(records);
        }
        worker.execute(() -> {
            if (records.size() <= LOG_EACH) {
                records.forEach(r -> LOG.info(line(key, r)));
            } else {
                LOG.info(summary(key, records));
                if (LOG.isDebugEnabled()) {
                    records.forEach(r -> LOG.debug(line(key, r)));
                }
            }
            flush();
        });
    }

    static String line(String key, DrainRecord r) {
        return "drain " + key + " pod " + r.getPod() + " released by " + GateMetrics.outcome(r.getReleasedBy())
                + " after " + r.getHeldSeconds() + "s: " + r.getMessage();
    }

    /** One line for drains released together: how many, by which outcome, and the range of their holds. */
    static String summary(String key, List<DrainRecord> records) {
        Map<String, Long> byOutcome = new TreeMap<>();
        double shortest = Double.MAX_VALUE;
        double longest = 0;
        for (DrainRecord r : records) {
            byOutcome.merge(GateMetrics.outcome(r.getReleasedBy()), 1L, Long::sum);
            shortest = Math.min(shortest, r.getHeldSeconds());
            longest = Math.max(longest, r.getHeldSeconds());
        }
        StringBuilder text = new StringBuilder("drain ").append(key).append(": ").append(records.size())
                .append(" pods released together (");
        byOutcome.forEach((outcome, count) -> text.append(count).append(' ').append(outcome).append(", "));
        text.setLength(text.length() - 2);
        return text.append(") after ").append(shortest).append("s to ").append(longest)
                .append("s; one line per pod at DEBUG").toString();
    }

    public void warning(ZeroDowntimeApp app, String reason, String note) {
        worker.execute(() -> events.warning(regarding(app), reason, note));
    }

    /**
     * A warning that callers of the gate can cause as often as they like: the first of a window is
     * written, the rest of the window only counted, and the count goes with the next one written.
     */
    public void warningAggregated(ZeroDowntimeApp app, String reason, String note) {
        Instant at = Instant.now();
        worker.execute(() -> {
            String key = app.getMetadata().getNamespace() + "/" + app.getMetadata().getName() + "/" + reason;
            String text = aggregate(windows, key, note, at);
            if (text != null && !events.warning(app, reason, text)) {
                unwritten(windows, key);
            }
        });
    }

    /**
     * The window's Event was refused (the API server was slow, overloaded or refused it): the window
     * is closed, so the next warning of this app and reason is written rather than only counted, and
     * it carries the refused one in its count. Pure.
     */
    static void unwritten(Map<String, Window> windows, String key) {
        Window w = windows.remove(key);
        if (w != null) {
            Window owed = new Window(Instant.EPOCH);
            owed.left = w.left + 1;
            windows.put(key, owed);
        }
    }

    /** The text to write now, or null when the warning falls in the current window and is only counted. Pure. */
    static String aggregate(Map<String, Window> windows, String key, String note, Instant at) {
        Window w = windows.get(key);
        if (w != null && at.isBefore(w.start.plus(AGGREGATE))) {
            w.left++;
            return null;
        }
        if (windows.size() >= WINDOWS) {
            windows.values().removeIf(x -> !at.isBefore(x.start.plus(AGGREGATE)));
        }
        String text = w == null || w.left == 0 ? note
                : note + " (and " + w.left + " more like it in the " + AGGREGATE.toSeconds() + " s before)";
        windows.put(key, new Window(at));
        return text;
    }

    /** An aggregation window: when its warning was written, and how many were left out since. */
    static final class Window {
        final Instant start;
        long left;

        Window(Instant start) {
            this.start = start;
        }
    }

    /** Work the reporter dropped because its queue was full. */
    long dropped() {
        return dropped.get();
    }

    public void normal(ZeroDowntimeApp app, String reason, String note) {
        worker.execute(() -> events.normal(regarding(app), reason, note));
    }

    /** The object an Event is about: the app, or the DrainPolicy whose pods the gate knows as {@code policy.<name>}. */
    static HasMetadata regarding(ZeroDowntimeApp app) {
        String policy = Constants.policyOf(app.getMetadata().getName());
        if (policy == null) {
            return app;
        }
        DrainPolicy p = new DrainPolicy();
        p.setMetadata(new ObjectMetaBuilder().withNamespace(app.getMetadata().getNamespace()).withName(policy)
                .withUid(app.getMetadata().getUid()).build());
        return p;
    }

    private void flush() {
        Map<String, List<DrainRecord>> batch;
        Map<String, List<PropagationSample>> samples;
        synchronized (pending) {
            if (pending.isEmpty() && measuredPending.isEmpty()) {
                return;
            }
            batch = new LinkedHashMap<>(pending);
            pending.clear();
            samples = new LinkedHashMap<>(measuredPending);
            measuredPending.clear();
        }
        samples.keySet().forEach(key -> batch.putIfAbsent(key, List.of()));
        batch.forEach((key, records) -> {
            int slash = key.indexOf('/');
            if (writesStatusOf(key.substring(slash + 1))) {
                write(key.substring(0, slash), key.substring(slash + 1), records,
                        samples.getOrDefault(key, List.of()));
            }
        });
    }

    /**
     * Whether the drains of an app-shaped name go to a status: a ZeroDowntimeApp's do; a DrainPolicy's
     * ({@code policy.<name>}) are logged and counted only, its status has one writer, its reconciler.
     */
    static boolean writesStatusOf(String name) {
        return Constants.policyOf(name) == null;
    }

    private void write(String namespace, String name, List<DrainRecord> records, List<PropagationSample> samples) {
        for (int attempt = 1; attempt <= ATTEMPTS; attempt++) {
            try {
                ZeroDowntimeApp current = client.resources(ZeroDowntimeApp.class).inNamespace(namespace).withName(name).get();
                if (current == null) {
                    return;
                }
                List<DrainRecord> merged = new ArrayList<>(records);
                Collections.reverse(merged);
                if (current.getStatus() != null && current.getStatus().getLastDrains() != null) {
                    merged.addAll(current.getStatus().getLastDrains());
                }
                List<DrainRecord> kept = merged.subList(0, Math.min(KEEP, merged.size()));
                // The window is read back from the status each time: whichever replica measured, none forgets.
                ObservedPropagation observed = current.getStatus() == null ? null
                        : current.getStatus().getObservedPropagation();
                for (PropagationSample sample : samples) {
                    observed = PropagationWindow.add(observed, sample);
                }
                ZeroDowntimeApp result = client.resources(ZeroDowntimeApp.class).inNamespace(namespace).withName(name)
                        .subresource("status")
                        .patch(new PatchContext.Builder().withPatchType(PatchType.JSON).withFieldManager(FIELD_MANAGER)
                                .build(), patch(current, records.isEmpty() ? null : kept,
                                        samples.isEmpty() ? null : observed));
                if (!samples.isEmpty() && result != null) {
                    nudges.changed(result);
                }
                return;
            } catch (KubernetesClientException e) {
                // 409/422: the resourceVersion test failed because the reconciler wrote in between.
                if (attempt == ATTEMPTS) {
                    LOG.warnf("could not record %d drain(s) in %s/%s status.lastDrains and %d measured in"
                            + " status.observedPropagation: %s", records.size(), namespace, name, samples.size(),
                            e.getMessage());
                    return;
                }
                try {
                    TimeUnit.MILLISECONDS.sleep(100L * attempt);
                } catch (InterruptedException ie) {
                    Thread.currentThread().interrupt();
                    return;
                }
            }
        }
    }

    /** The JSON patch of status.lastDrains, the one status field this writer owns (docs/design.md). */
    String patch(ZeroDowntimeApp current, List<DrainRecord> kept) {
        return patch(current, kept, null);
    }

    /**
     * The JSON patch of the status fields this writer owns (docs/design.md): status.lastDrains and
     * status.observedPropagation, each only when given.
     */
    String patch(ZeroDowntimeApp current, List<DrainRecord> kept, ObservedPropagation observed) {
        ArrayNode ops = json.createArrayNode();
        ops.addObject().put("op", "test").put("path", "/metadata/resourceVersion")
                .put("value", current.getMetadata().getResourceVersion());
        if (current.getStatus() == null) {
            ObjectNode status = json.createObjectNode();
            if (kept != null) {
                status.set("lastDrains", json.valueToTree(kept));
            }
            if (observed != null) {
                status.set("observedPropagation", json.valueToTree(observed));
            }
            ops.addObject().put("op", "add").put("path", "/status").set("value", status);
        } else {
            if (kept != null) {
                ops.addObject().put("op", "add").put("path", "/status/lastDrains").set("value", json.valueToTree(kept));
            }
            if (observed != null) {
                ops.addObject().put("op", "add").put("path", "/status/observedPropagation")
                        .set("value", json.valueToTree(observed));
            }
        }
        return ops.toString();
    }

    /**
     * Writes what is pending before anything else stops: a replica's last releases happen during
     * its graceful shutdown, and the operator SDK closes the shared client on ShutdownEvent, after
     * which a drain released at the end of the wait could no longer get its record and Event.
     */
    void onShutdown(@Observes @Priority(1) ShutdownEvent event) {
        stop();
    }

    @PreDestroy
    void stop() {
        worker.shutdown();
        try {
            worker.awaitTermination(5, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
