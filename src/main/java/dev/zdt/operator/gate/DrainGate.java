package dev.zdt.operator.gate;

import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;

import jakarta.annotation.PreDestroy;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;

import org.jboss.logging.Logger;

import dev.zdt.operator.Constants;
import dev.zdt.operator.api.InvalidSpecException;
import dev.zdt.operator.api.v1alpha1.DrainRecord;
import dev.zdt.operator.api.v1alpha1.DrainRecord.ReleasedBy;
import dev.zdt.operator.api.v1alpha1.TrafficSpec.Verify;
import dev.zdt.operator.api.v1alpha1.ZeroDowntimeApp;
import dev.zdt.operator.budget.DrainBudget;
import dev.zdt.operator.ingress.IngressObservation;
import dev.zdt.operator.ingress.IngressVerifier;
import dev.zdt.operator.ingress.IngressVerifiers;
import dev.zdt.operator.metrics.GateMetrics;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointSlice;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.informers.ResourceEventHandler;
import io.fabric8.kubernetes.client.informers.SharedIndexInformer;
import io.quarkus.runtime.StartupEvent;

/**
 * The drain gate: holds each preStop call until its pod is verifiably out of rotation, or the hold
 * bound H from the call's arrival expires.
 *
 * <p>Every replica runs this from its own informers (ZeroDowntimeApps, and the pods and
 * EndpointSlices the operator manages), started at startup and not tied to leadership, so the
 * gate answers while leadership moves. All hold state lives on one scheduler thread: informer
 * events, timers and the ingress controller's answers are posted to it, and a held call costs a
 * future, not a thread.
 *
 * <p>Attribution. The kubelet does not expand variables in an httpGet hook, so a gate-mode call
 * names only its app. It is attributed to the oldest terminating pod of the app that no call has
 * claimed (else one an in-flight call claimed), and, because that guess can be wrong (several pods
 * terminating at once, or another replica serving a sibling's call), it waits for every pod of the
 * app that is terminating when it arrives or starts terminating within {@code claimWait} after.
 * A call for a named pod (exec mode) waits for that pod only.
 */
@ApplicationScoped
public class DrainGate {

    static final String APP_INDEX = "zdt-app";
    private static final String SERVICE_NAME_LABEL = "kubernetes.io/service-name";
    private static final Logger LOG = Logger.getLogger(DrainGate.class);

    private final KubernetesClient client;
    private final ManagedPods managedPods;
    private final GateConfig config;
    private final IngressVerifiers verifiers;
    private final GateMetrics metrics;
    private final DrainReporter reporter;
    private final Watched watched;

    private final ScheduledExecutorService loop = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "zdt-drain-gate");
        t.setDaemon(true);
        return t;
    });
    /** Apps with an evaluation queued; informer bursts collapse into one pass per app. */
    private final Set<String> queued = ConcurrentHashMap.newKeySet();

    private volatile SharedIndexInformer<ZeroDowntimeApp> apps;
    private volatile SharedIndexInformer<Pod> pods;
    private volatile SharedIndexInformer<EndpointSlice> slices;

    // Owned by the loop thread.
    private final Map<String, AppState> states = new HashMap<>();
    private int open;

    public DrainGate(KubernetesClient client, ManagedPods managedPods, GateConfig config, IngressVerifiers verifiers,
            GateMetrics metrics, DrainReporter reporter, Watched watched) {
        this.client = client;
        this.managedPods = managedPods;
        this.config = config;
        this.verifiers = verifiers;
        this.metrics = metrics;
        this.reporter = reporter;
        this.watched = watched;
    }

    void onStart(@Observes StartupEvent event) {
        start();
    }

    synchronized void start() {
        if (apps != null) {
            return;
        }
        apps = watched.informer(client.resources(ZeroDowntimeApp.class), Map.of());
        pods = managedPods.informer();
        slices = watched.informer(client.discovery().v1().endpointSlices(),
                Map.of(Constants.MANAGED_BY_LABEL, Constants.OPERATOR_NAME));
        // Keep retrying: the CRD may not exist yet at startup, and the API server may come and go.
        for (SharedIndexInformer<?> i : List.of(apps, slices)) {
            i.exceptionHandler((started, error) -> {
                LOG.debugf("drain gate informer: %s; retrying", error.getMessage());
                return true;
            });
        }
        slices.addIndexers(Map.of(APP_INDEX, s -> keys(s, SERVICE_NAME_LABEL)));
        apps.addEventHandler(poker(a -> key(a.getMetadata().getNamespace(), a.getMetadata().getName())));
        slices.addEventHandler(poker(s -> key(s.getMetadata().getNamespace(), label(s, SERVICE_NAME_LABEL))));
        apps.start();
        managedPods.watch(poker(p -> key(p.getMetadata().getNamespace(), label(p, Constants.APP_LABEL))));
        slices.start();
    }

    /** The informers have listed everything once; before that the gate cannot tell a stranger from a pod of ours. */
    public boolean synced() {
        return apps != null && apps.hasSynced() && pods.hasSynced() && slices.hasSynced();
    }

    /**
     * A preStop call arrived. Completes when the call is to be answered; never fails.
     *
     * @param pod the pod the caller names (exec mode), or null for the app-scoped call (gate mode)
     */
    public CompletionStage<GateAnswer> hold(String namespace, String app, String pod) {
        Call call = new Call(namespace, app, pod, Instant.now(), new CompletableFuture<>());
        try {
            loop.execute(() -> arrive(call));
        } catch (java.util.concurrent.RejectedExecutionException e) {
            call.answer.complete(new GateAnswer(503, "the operator is shutting down; the gate holds no new call\n"));
        }
        return call.answer;
    }

    /** Calls held right now by this replica. */
    public int held() {
        return metrics.inFlight();
    }

    // ---------------------------------------------------------------- loop thread

    private void arrive(Call call) {
        String key = key(call.namespace, call.app);
        if (!synced()) {
            call.answer.complete(new GateAnswer(503, "the gate's informers have not synced yet; not holding "
                    + key + "\n"));
            return;
        }
        ZeroDowntimeApp app = apps.getIndexer().getByKey(key);
        if (app == null) {
            call.answer.complete(new GateAnswer(404, "no ZeroDowntimeApp " + key
                    + ": the drain gate holds only pods of ZeroDowntimeApps\n"));
            return;
        }
        if (call.exactPod != null) {
            Pod pod = pods.getIndexer().getByKey(key(call.namespace, call.exactPod));
            if (pod == null || !call.app.equals(label(pod, Constants.APP_LABEL))) {
                call.answer.complete(new GateAnswer(404, "pod " + call.namespace + "/" + call.exactPod
                        + " is not a pod of ZeroDowntimeApp " + key + "\n"));
                return;
            }
        }
        AppState s = states.get(key);
        if (open >= config.maxHolds() || (s != null && s.calls.size() >= config.maxHoldsPerApp())) {
            call.answer.complete(new GateAnswer(429, "the gate already holds " + open + " calls ("
                    + (s == null ? 0 : s.calls.size()) + " for " + key + "); limits zdt.gate.max-holds="
                    + config.maxHolds() + ", zdt.gate.max-holds-per-app=" + config.maxHoldsPerApp() + "\n"));
            return;
        }
        if (s == null) {
            s = new AppState(key, call.namespace, call.app);
            states.put(key, s);
        }
        call.claimDeadline = call.arrived.plus(config.claimWait());
        s.calls.add(call);
        open++;
        metrics.holdStarted();
        // Queued, not run here: calls arriving together (a rollout's batch) share one pass, so N arrivals
        // cost O(N) passes' worth of work only when they arrive apart.
        poke(key);
    }

    private void evaluate(String key) {
        AppState s = states.get(key);
        if (s != null) {
            evaluate(s);
        }
    }

    private void evaluate(AppState s) {
        long started = System.nanoTime();
        int before = s.calls.size();
        pass(s);
        long tookMs = (System.nanoTime() - started) / 1_000_000;
        if (tookMs >= 100) {
            // A slow pass delays every release of every app: worth a line.
            LOG.infof("gate pass for %s took %d ms (%d calls before, %d after)", s.key, tookMs, before, s.calls.size());
        }
    }

    private void pass(AppState s) {
        Instant now = Instant.now();
        ZeroDowntimeApp current = apps.getIndexer().getByKey(s.key);
        if (current != null) {
            s.app = current;
            budget(s);
        }
        // A deleted app keeps its last known spec: the holds of its pods end by their own rules.
        Verify verify = s.app.getSpec().getTraffic().getVerify();
        Optional<IngressVerifier> verifier = verifiers.forProvider(s.app.getSpec().getTraffic().getProvider());

        long passNo = ++s.passes;
        for (Pod p : pods.getIndexer().byIndex(APP_INDEX, s.key)) {
            Tracked t = s.tracked.get(p.getMetadata().getName());
            if (t == null && p.getMetadata().getDeletionTimestamp() != null) {
                t = new Tracked(p.getMetadata().getName(), now);
                s.tracked.put(t.pod, t);
            }
            if (t != null) {
                t.seenInPass = passNo;
                if (p.getMetadata().getDeletionTimestamp() != null) {
                    t.update(p);
                }
            }
        }
        Rotation rotation = Rotation.of(slices.getIndexer().byIndex(APP_INDEX, s.key));
        for (Tracked t : s.tracked.values()) {
            t.inCache = t.seenInPass == passNo;
            if (rotation.offers(t.pod, t.address)) {
                t.outOfRotationSince = null;
            } else if (t.outOfRotationSince == null) {
                t.outOfRotationSince = now;
            }
            if (s.ingress != null && s.ingress.known()) {
                boolean listed = t.address != null && s.ingress.addresses().contains(t.address);
                if (listed) {
                    t.ingressGoneSince = null;
                } else if (t.ingressGoneSince == null && t.outOfRotationSince != null) {
                    t.ingressGoneSince = now;
                    metrics.propagationObserved(Duration.between(t.outOfRotationSince, now));
                }
            }
        }

        Instant wake = null;
        boolean askIngress = false;
        GateDecision.Rules rules = new GateDecision.Rules(now, s.propagation, verify,
                verifier.map(IngressVerifier::name).orElse("the ingress controller"));
        Prefixes prefixes = null;
        Instant latestCutoff = null;
        Set<String> claimed = new HashSet<>();
        List<Report> reports = new ArrayList<>();
        for (Call c : new ArrayList<>(s.calls)) {
            if (c.pod == null) {
                String pick = c.exactPod != null ? (s.tracked.containsKey(c.exactPod) ? c.exactPod : null) : claim(s);
                if (pick == null) {
                    if (!now.isBefore(c.claimDeadline)) {
                        refuse(s, c, now);
                    } else {
                        wake = earlier(wake, c.claimDeadline);
                    }
                    continue;
                }
                c.pod = pick;
                s.inFlightClaims.merge(pick, 1, Integer::sum);
            }
            claimed.add(c.pod);
            Tracked own = s.tracked.get(c.pod);
            GateDecision.Check check;
            Duration hold;
            int others;
            Instant settle = c.arrived;
            if (c.exactPod != null) {
                check = GateDecision.Check.NONE.with(rules, target(s, own, verifier));
                hold = own.holdSeconds != null ? Duration.ofSeconds(own.holdSeconds) : s.defaultHold;
                others = rotation.readyCount() - (rotation.offers(own.pod, own.address) ? 1 : 0);
            } else {
                // Every pod seen terminating up to claimWait after arrival: one of them is the caller.
                Instant cutoff = latest(c.arrived.plus(config.claimWait()), own.firstSeen);
                latestCutoff = latestCutoff == null ? cutoff : latest(latestCutoff, cutoff);
                // Until the cutoff the caller's own deletion may still be on its way to this cache.
                settle = cutoff;
                if (prefixes == null) {
                    prefixes = new Prefixes(s, rules, rotation, verifier);
                }
                int k = prefixes.upTo(cutoff);
                check = prefixes.checks[k];
                // The hold the pods were created with: their grace period covers that one, not a later edit.
                hold = prefixes.minHold[k] != null ? prefixes.minHold[k] : s.defaultHold;
                others = rotation.readyCount() - prefixes.offered[k];
            }
            GateDecision.Outcome outcome = GateDecision.decide(c.arrived, now, hold, verify, check, others, settle);
            if (outcome instanceof GateDecision.Release r) {
                reports.add(release(s, c, r, now));
            } else if (outcome instanceof GateDecision.Hold h) {
                wake = earlier(wake, h.wakeAt());
                askIngress |= verify == Verify.INGRESS;
            }
        }

        // Every released call is answered before any bookkeeping: a burst of releases answers fast.
        if (!reports.isEmpty()) {
            report(s.app, s.key, reports, verify);
        }

        // Forget pods that left the cache and that no open call waits for.
        Instant keepSeenUpTo = latestCutoff;
        s.tracked.values().removeIf(t -> !t.inCache && !claimed.contains(t.pod)
                && (keepSeenUpTo == null || t.firstSeen.isAfter(keepSeenUpTo)));
        s.answeredClaims.retainAll(s.tracked.keySet());

        if (s.calls.isEmpty()) {
            cancel(s);
            if (s.answeredClaims.isEmpty()) {
                states.remove(s.key);
            }
            return;
        }
        schedule(s, wake, now);
        if (askIngress && verifier.isPresent()) {
            askIngress(s, verifier.get());
        }
    }

    private void budget(AppState s) {
        try {
            DrainBudget b = DrainBudget.derive(s.app.getSpec().getTraffic(), s.app.getSpec().getDrain(),
                    s.app.getSpec().getStrategy());
            s.propagation = Duration.ofSeconds(b.propagationSeconds());
            s.defaultHold = Duration.ofSeconds(b.holdSeconds());
        } catch (InvalidSpecException | NullPointerException e) {
            // The reconciler reports the invalid spec; the pods keep the hold they were created with.
            if (s.defaultHold == null) {
                s.defaultHold = Duration.ofSeconds(30);
                s.propagation = s.defaultHold;
            }
        }
    }

    /** The oldest terminating pod nobody claimed; else one an in-flight call claimed (never one already answered). */
    private static String claim(AppState s) {
        Comparator<Tracked> oldest = Comparator.comparing((Tracked t) -> t.deletion).thenComparing(t -> t.pod);
        return s.tracked.values().stream()
                .filter(t -> t.inCache && !s.answeredClaims.contains(t.pod) && !s.inFlightClaims.containsKey(t.pod))
                .min(oldest)
                .or(() -> s.tracked.values().stream()
                        .filter(t -> t.inCache && s.inFlightClaims.containsKey(t.pod))
                        .min(oldest))
                .map(t -> t.pod).orElse(null);
    }

    private static GateDecision.Target target(AppState s, Tracked t, Optional<IngressVerifier> verifier) {
        return new GateDecision.Target(t.pod, t.address, t.outOfRotationSince, ingress(s, t, verifier),
                ingressDetail(s, verifier));
    }

    /**
     * The app's terminating pods in the order they were first seen, with the check of every prefix:
     * an app-scoped call waits for a prefix, so n calls over n pods cost O(n log n), not O(n^2).
     */
    private static final class Prefixes {
        final Instant[] seen;
        final GateDecision.Check[] checks;
        final int[] offered;
        final Duration[] minHold;

        Prefixes(AppState s, GateDecision.Rules rules, Rotation rotation, Optional<IngressVerifier> verifier) {
            List<Tracked> order = s.tracked.values().stream()
                    .sorted(Comparator.comparing((Tracked t) -> t.firstSeen).thenComparing(t -> t.pod)).toList();
            int n = order.size();
            seen = new Instant[n];
            checks = new GateDecision.Check[n + 1];
            offered = new int[n + 1];
            minHold = new Duration[n + 1];
            checks[0] = GateDecision.Check.NONE;
            for (int i = 0; i < n; i++) {
                Tracked t = order.get(i);
                seen[i] = t.firstSeen;
                checks[i + 1] = checks[i].with(rules, target(s, t, verifier));
                offered[i + 1] = offered[i] + (rotation.offers(t.pod, t.address) ? 1 : 0);
                Duration h = t.holdSeconds == null ? null : Duration.ofSeconds(t.holdSeconds);
                minHold[i + 1] = minHold[i] == null || (h != null && h.compareTo(minHold[i]) < 0) ? h : minHold[i];
            }
        }

        /** How many pods were first seen at or before the cutoff. */
        int upTo(Instant cutoff) {
            int lo = 0;
            int hi = seen.length;
            while (lo < hi) {
                int mid = (lo + hi) >>> 1;
                if (seen[mid].isAfter(cutoff)) {
                    hi = mid;
                } else {
                    lo = mid + 1;
                }
            }
            return lo;
        }
    }

    private static GateDecision.Ingress ingress(AppState s, Tracked t, Optional<IngressVerifier> verifier) {
        if (verifier.isEmpty() || s.ingress == null || !s.ingress.known()) {
            return GateDecision.Ingress.UNKNOWN;
        }
        return t.address != null && s.ingress.addresses().contains(t.address) ? GateDecision.Ingress.ROUTED
                : GateDecision.Ingress.GONE;
    }

    private static String ingressDetail(AppState s, Optional<IngressVerifier> verifier) {
        if (verifier.isEmpty()) {
            return "no ingress check exists for provider " + s.app.getSpec().getTraffic().getProvider();
        }
        if (s.ingress == null) {
            return "no answer yet";
        }
        return s.ingress.known() ? null : s.ingress.detail();
    }

    /** Answers the call at once; what only people read is done by {@link #report} after the pass. */
    private Report release(AppState s, Call c, GateDecision.Release r, Instant now) {
        finish(s, c);
        s.answeredClaims.add(c.pod);
        Duration held = Duration.between(c.arrived, now);
        String outcome = GateMetrics.outcome(r.by());
        double seconds = Math.round(held.toMillis() / 100.0) / 10.0;
        c.answer.complete(new GateAnswer(200, outcome + " after " + seconds + "s: " + r.message() + "\n"));
        return new Report(c, r, held, seconds);
    }

    /** A released call, for what people read afterwards. */
    private record Report(Call call, GateDecision.Release release, Duration held, double seconds) {
    }

    /** The pass's releases, handed to the reporter's thread in one batch (one task, one status patch). */
    private void report(ZeroDowntimeApp app, String key, List<Report> reports, Verify verify) {
        List<DrainRecord> records = new ArrayList<>(reports.size());
        for (Report rep : reports) {
            Call c = rep.call();
            GateDecision.Release r = rep.release();
            metrics.released(r.by(), rep.held());
            DrainRecord record = new DrainRecord();
            record.setPod(c.pod);
            record.setStarted(c.arrived.truncatedTo(ChronoUnit.SECONDS).toString());
            record.setHeldSeconds(rep.seconds());
            record.setReleasedBy(r.by());
            record.setMessage(r.message());
            records.add(record);
            if (r.by() == ReleasedBy.TIMEOUT && verify != Verify.NONE) {
                reporter.warning(app, "DrainHoldTimeout", "pod " + c.pod + " got SIGTERM unverified after "
                        + rep.seconds() + "s: " + r.message());
            }
            if (r.lastServer()) {
                reporter.warning(app, "NoOtherReadyEndpoint", "pod " + c.pod + " was drained while no other ready "
                        + "endpoint serves " + key + "; requests fail until a new pod is ready");
            }
        }
        // Logged by the reporter's thread: a burst of releases must not wait for the console.
        reporter.drained(app, records);
    }

    private void refuse(AppState s, Call c, Instant now) {
        finish(s, c);
        metrics.holdAbandoned();
        String waited = GateDecision.seconds(c.arrived, now);
        String text;
        if (c.exactPod != null) {
            text = "pod " + s.namespace + "/" + c.exactPod + " of " + s.key + " is not terminating (waited " + waited
                    + " for the informer cache); the gate holds only terminating pods";
        } else {
            text = "no terminating pod of " + s.key + " to attribute this call to (waited " + waited
                    + " for the informer cache); the gate holds only terminating pods";
        }
        LOG.infof("gate call refused: %s", text);
        reporter.warning(s.app, "GateCallUnattributed", text);
        c.answer.complete(new GateAnswer(409, text + "\n"));
    }

    private void finish(AppState s, Call c) {
        s.calls.remove(c);
        open--;
        if (c.pod != null) {
            s.inFlightClaims.computeIfPresent(c.pod, (k, n) -> n > 1 ? n - 1 : null);
        }
    }

    private void schedule(AppState s, Instant wake, Instant now) {
        if (wake == null) {
            return;
        }
        if (s.wakeTimer != null && !s.wakeTimer.isDone() && s.wakeAt != null && !s.wakeAt.isAfter(wake)) {
            return;
        }
        if (s.wakeTimer != null) {
            s.wakeTimer.cancel(false);
        }
        // One millisecond late rather than early: an early wake only reschedules, but costs a pass.
        long delay = Math.max(0, Duration.between(now, wake).toNanos()) + 1_000_000;
        s.wakeAt = wake;
        String key = s.key;
        s.wakeTimer = loop.schedule(() -> evaluate(key), delay, TimeUnit.NANOSECONDS);
    }

    private void askIngress(AppState s, IngressVerifier verifier) {
        if (s.asking || s.askTimer != null) {
            return;
        }
        long delay = s.lastAsked == null ? 0
                : Math.max(0, config.ingressPollInterval().toNanos() - Duration.between(s.lastAsked, Instant.now()).toNanos());
        String key = s.key;
        s.askTimer = loop.schedule(() -> {
            AppState st = states.get(key);
            if (st == null) {
                return;
            }
            st.askTimer = null;
            if (st.calls.isEmpty()) {
                return;
            }
            st.asking = true;
            st.lastAsked = Instant.now();
            verifier.observe(st.app).whenComplete((seen, error) -> loop.execute(() -> {
                AppState again = states.get(key);
                if (again == null) {
                    return;
                }
                again.asking = false;
                again.ingress = seen != null ? seen
                        : IngressObservation.unknown(verifier.name() + " check failed: " + error, Instant.now());
                evaluate(again);
            }));
        }, delay, TimeUnit.NANOSECONDS);
    }

    private static void cancel(AppState s) {
        if (s.wakeTimer != null) {
            s.wakeTimer.cancel(false);
            s.wakeTimer = null;
        }
        if (s.askTimer != null) {
            s.askTimer.cancel(false);
            s.askTimer = null;
        }
    }

    // ---------------------------------------------------------------- informer plumbing

    private <T extends HasMetadata> ResourceEventHandler<T> poker(Function<T, String> keyOf) {
        return new ResourceEventHandler<>() {
            @Override
            public void onAdd(T obj) {
                poke(keyOf.apply(obj));
            }

            @Override
            public void onUpdate(T oldObj, T newObj) {
                poke(keyOf.apply(newObj));
            }

            @Override
            public void onDelete(T obj, boolean deletedFinalStateUnknown) {
                poke(keyOf.apply(obj));
            }
        };
    }

    private void poke(String key) {
        if (key == null || !queued.add(key)) {
            return;
        }
        try {
            loop.execute(() -> {
                queued.remove(key);
                evaluate(key);
            });
        } catch (java.util.concurrent.RejectedExecutionException e) {
            queued.remove(key);
        }
    }

    /** The {@link #APP_INDEX} keys of an object: {@code namespace/<its label value>}, or none without the label. */
    static List<String> keys(HasMetadata o, String label) {
        String value = label(o, label);
        return value == null ? List.of() : List.of(key(o.getMetadata().getNamespace(), value));
    }

    private static String label(HasMetadata o, String label) {
        Map<String, String> labels = o.getMetadata().getLabels();
        return labels == null ? null : labels.get(label);
    }

    private static String key(String namespace, String name) {
        return name == null ? null : namespace + "/" + name;
    }

    private static Instant latest(Instant a, Instant b) {
        return b.isAfter(a) ? b : a;
    }

    private static Instant earlier(Instant a, Instant b) {
        return a == null || b.isBefore(a) ? b : a;
    }

    @PreDestroy
    void stop() {
        CompletableFuture<Void> drained = new CompletableFuture<>();
        try {
            loop.execute(() -> {
                // The kubelet proceeds to SIGTERM on any answer or a closed connection alike; say why.
                states.values().forEach(s -> new ArrayList<>(s.calls).forEach(c -> {
                    finish(s, c);
                    metrics.holdAbandoned();
                    c.answer.complete(new GateAnswer(503, "this operator replica is shutting down; hold ended early\n"));
                }));
                states.clear();
                drained.complete(null);
            });
            drained.get(5, TimeUnit.SECONDS);
        } catch (Exception e) {
            LOG.debugf("gate shutdown: %s", e.getMessage());
        }
        loop.shutdownNow();
        // The managed pods' informer is stopped by its own bean: warm-in shares it.
        for (SharedIndexInformer<?> i : new SharedIndexInformer<?>[] { apps, slices }) {
            if (i != null) {
                i.stop();
            }
        }
    }

    // ---------------------------------------------------------------- state

    /** One app's open calls and the terminating pods they concern. */
    private static final class AppState {
        final String key;
        final String namespace;
        final String name;
        ZeroDowntimeApp app;
        Duration propagation;
        Duration defaultHold;
        final List<Call> calls = new ArrayList<>();
        final Map<String, Tracked> tracked = new HashMap<>();
        final Map<String, Integer> inFlightClaims = new HashMap<>();
        final Set<String> answeredClaims = new HashSet<>();
        /** Passes run so far; a tracked pod seen in the cache by the current pass carries its number. */
        long passes;
        IngressObservation ingress;
        boolean asking;
        Instant lastAsked;
        ScheduledFuture<?> askTimer;
        ScheduledFuture<?> wakeTimer;
        Instant wakeAt;

        AppState(String key, String namespace, String name) {
            this.key = key;
            this.namespace = namespace;
            this.name = name;
        }
    }

    /** A terminating pod as the gate saw it. */
    private static final class Tracked {
        final String pod;
        /** When this replica first saw the pod terminating (its own clock, like a call's arrival). */
        final Instant firstSeen;
        String address;
        Integer holdSeconds;
        Instant deletion = Instant.MAX;
        boolean inCache = true;
        long seenInPass;
        /** The pod's resourceVersion last read: an unchanged pod is not parsed again on every pass. */
        String version;
        Instant outOfRotationSince;
        Instant ingressGoneSince;

        Tracked(String pod, Instant firstSeen) {
            this.pod = pod;
            this.firstSeen = firstSeen;
        }

        void update(Pod p) {
            String v = p.getMetadata().getResourceVersion();
            if (v != null && v.equals(version)) {
                return;
            }
            version = v;
            if (p.getStatus() != null && p.getStatus().getPodIP() != null) {
                address = p.getStatus().getPodIP();
            }
            Map<String, String> annotations = p.getMetadata().getAnnotations();
            String hold = annotations == null ? null : annotations.get(Constants.HOLD_ANNOTATION);
            if (hold != null) {
                try {
                    holdSeconds = Integer.parseInt(hold.trim());
                } catch (NumberFormatException e) {
                    holdSeconds = null;
                }
            }
            try {
                // deletionTimestamp is the deletion request plus the grace period.
                Instant ts = Instant.parse(p.getMetadata().getDeletionTimestamp());
                long grace = p.getMetadata().getDeletionGracePeriodSeconds() == null ? 0
                        : p.getMetadata().getDeletionGracePeriodSeconds();
                deletion = ts.minusSeconds(grace);
            } catch (RuntimeException e) {
                deletion = Instant.MAX;
            }
        }
    }

    /** One held gate call. */
    private static final class Call {
        final String namespace;
        final String app;
        final String exactPod;
        final Instant arrived;
        final CompletableFuture<GateAnswer> answer;
        Instant claimDeadline;
        String pod;

        Call(String namespace, String app, String exactPod, Instant arrived, CompletableFuture<GateAnswer> answer) {
            this.namespace = namespace;
            this.app = app;
            this.exactPod = exactPod;
            this.arrived = arrived;
            this.answer = answer;
        }
    }
}
