package dev.zdt.operator.gate;

import java.time.Duration;
import java.time.Instant;
import java.time.InstantSource;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

import jakarta.annotation.PreDestroy;
import jakarta.annotation.Priority;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;

import org.jboss.logging.Logger;

import dev.zdt.operator.api.v1alpha1.DrainSpec;
import dev.zdt.operator.api.v1alpha1.ZeroDowntimeApp;
import dev.zdt.operator.ingress.IngressVerifiers;
import dev.zdt.operator.metrics.GateMetrics;
import dev.zdt.operator.watch.Policies;
import dev.zdt.operator.pod.PodIdentity;
import dev.zdt.operator.watch.ManagedPods;
import dev.zdt.operator.watch.Watched;
import dev.zdt.operator.GateConfig;
import dev.zdt.operator.pod.GateKeys;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.quarkus.runtime.ShutdownEvent;
import io.quarkus.runtime.StartupEvent;

/**
 * The drain gate: holds each preStop call until its pod is verifiably out of rotation, or the hold
 * bound H from the call's arrival expires.
 *
 * <p>How a drain flows. {@link GateResource} hands the kubelet's call to {@link #hold}, which stamps
 * its arrival and posts it to the gate's one thread. There {@link AppHolds} takes it (or answers
 * 404/429 at once) and, on every pass of its app, decides it with {@link GateDecision} from what
 * {@link GateCache} shows (the app, its pods, its EndpointSlices as a {@link Rotation}) and the
 * latest answer of the ingress controller, which {@link IngressPoller} asks. A pass answers the
 * calls it decides (200 released, 409 never seen terminating); this class then hands the records
 * and Events to {@link DrainReporter}, sets the app's wake-up timer and has the poller ask again. A
 * pass runs when a call arrives, when the cache changes for the app, when its timer fires and when
 * the ingress controller answers.
 *
 * <p>Every replica runs this from its own informers, started at startup and not tied to
 * leadership, so the gate answers while leadership moves. All hold state lives on one scheduler
 * thread: informer events, timers and the ingress controller's answers are posted to it, and a
 * held call costs a future, not a thread.
 */
@ApplicationScoped
public class DrainGate {

    private static final Logger LOG = Logger.getLogger(DrainGate.class);

    private final GateCache cache;
    private final GateMetrics metrics;
    private final DrainReporter reporter;
    private final GateKeys keys;
    private final InstantSource clock = InstantSource.system();
    /** Until when app tokens open the gate for gate- and exec-mode pods (zdt.gate.auth.legacy-window). */
    private final Instant legacyUntil;

    private final ScheduledExecutorService loop = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "zdt-drain-gate");
        t.setDaemon(true);
        return t;
    });
    /** Apps with an evaluation queued; informer bursts collapse into one pass per app. */
    private final Set<String> queued = ConcurrentHashMap.newKeySet();

    // Owned by the loop thread.
    private final AppHolds holds;
    private final IngressPoller poller;
    private final Map<String, Wake> wakes = new HashMap<>();

    public DrainGate(KubernetesClient client, ManagedPods managedPods, GateConfig config, IngressVerifiers verifiers,
            GateMetrics metrics, DrainReporter reporter, Watched watched, GateKeys keys, Policies policies) {
        this.cache = new GateCache(client, managedPods, watched, policies);
        this.metrics = metrics;
        this.reporter = reporter;
        this.keys = keys;
        this.legacyUntil = clock.instant().plus(config.auth().legacyWindow());
        this.holds = new AppHolds(config.claimWait(), new AppHolds.Limits(config.maxHolds(),
                config.maxHoldsPerNamespace(), config.maxHoldsPerApp()), verifiers::forProvider, metrics, clock);
        this.poller = new IngressPoller(loop, config.ingressPollInterval(), clock, holds::question, this::evaluate);
    }

    void onStart(@Observes StartupEvent event) {
        start();
    }

    void start() {
        cache.start(this::poke);
    }

    /** The informers have listed everything once; before that the gate cannot tell a stranger from a pod of ours. */
    public boolean synced() {
        return cache.synced();
    }

    /**
     * Why a call is refused before anything is held, or empty when it may be held: it must carry
     * the app's token. An unknown app is refused with the same words as a wrong token, so the
     * answer does not tell a stranger which apps exist. Reads the informer cache, which is safe
     * off the gate's thread; nothing is held, counted per app or recorded as an Event. Before
     * the caches synced the call goes on, to be answered 503 (try again) rather than refused.
     */
    public Optional<String> refuse(String namespace, String app, String token) {
        if (!keys.enabled() || !synced()) {
            return Optional.empty();
        }
        var found = cache.app(GateCache.key(namespace, app));
        GateKeys.Match match = found == null ? GateKeys.Match.NONE : keys.check(token, found);
        if (match != GateKeys.Match.NONE && !appTokensAccepted(found)) {
            metrics.called("expired-app-token");
            return Optional.of("an app token for " + namespace + "/" + app + ", which the drain gate accepted from "
                    + "gate- and exec-mode pods only until " + legacyUntil + " (zdt.gate.auth.legacy-window): the pod "
                    + "must send its own projected token (" + PodIdentity.TOKEN_FILE + "), as pods rendered since do; "
                    + "not holding");
        }
        metrics.called(match == GateKeys.Match.NONE ? "invalid" : match.name().toLowerCase(java.util.Locale.ROOT));
        if (match != GateKeys.Match.NONE) {
            return Optional.empty();
        }
        return Optional.of((token == null ? "no token" : "a token that is not valid") + " for " + namespace + "/" + app
                + ": the drain gate holds a pod only on a call that carries the pod's own token (sent by the drain "
                + "helper rendered into the pod); not holding");
    }

    /**
     * Whether an app token still opens the gate for the app: always in httpGet mode (the kubelet's
     * hook sends a fixed header and has no other credential), otherwise only in the legacy window.
     */
    boolean appTokensAccepted(ZeroDowntimeApp app) {
        boolean httpGet = app.getSpec() != null && app.getSpec().getDrain() != null
                && app.getSpec().getDrain().getMode() == DrainSpec.Mode.HTTP_GET;
        return httpGet || clock.instant().isBefore(legacyUntil);
    }

    /** Whether calls must prove who they are (production); off only in tests and local development. */
    public boolean authRequired() {
        return keys.enabled();
    }

    /** Counts a call by how it was authenticated (zdt_gate_calls_authenticated_total{token}). */
    public void counted(String how) {
        metrics.called(how);
    }

    /**
     * A preStop call arrived. Completes when the call is to be answered; never fails.
     *
     * @param pod the pod the caller names (gate and exec modes), or null for the app-scoped call (httpGet mode)
     * @param uid the pod's uid when its token proved it (the cached pod must be that one), else null
     */
    public CompletionStage<GateAnswer> hold(String namespace, String app, String pod, String uid) {
        AppHolds.Call call = new AppHolds.Call(namespace, app, pod, clock.instant());
        call.exactUid = uid;
        try {
            loop.execute(() -> arrive(call));
        } catch (RejectedExecutionException e) {
            call.answer.complete(new GateAnswer(503, "the operator is shutting down; the gate holds no new call\n",
                    clock.instant()));
        }
        return call.answer;
    }

    /**
     * Whether this replica's cache shows the app and that many of its pods: a call for an app the
     * cache has not seen yet is answered 404 at once (tests wait for this before calling).
     */
    boolean sees(String key, int pods) {
        return cache.app(key) != null && cache.pods(key).size() >= pods;
    }

    /** Calls held right now by this replica. */
    public int held() {
        return metrics.inFlight();
    }

    // ---------------------------------------------------------------- loop thread

    private void arrive(AppHolds.Call call) {
        String key = GateCache.key(call.namespace, call.app);
        if (!synced()) {
            call.answer.complete(new GateAnswer(503, "the gate's informers have not synced yet; not holding "
                    + key + "\n", clock.instant()));
            return;
        }
        Pod named = call.exactPod == null ? null : cache.pod(call.namespace, call.exactPod);
        if (named != null && call.exactUid != null && !call.exactUid.equals(named.getMetadata().getUid())) {
            // The token's pod is gone and another took its name: not the pod the caller proved it is.
            named = null;
        }
        if (holds.arrive(call, cache.app(key), named)) {
            // Queued, not run here: calls arriving together (a rollout's batch) share one pass, so N arrivals
            // cost O(N) passes' worth of work only when they arrive apart.
            poke(key);
        }
    }

    private void evaluate(String key) {
        if (!holds.tracks(key)) {
            return;
        }
        long started = System.nanoTime();
        int before = holds.held(key);
        AppHolds.Pass pass = holds.pass(key, cache.app(key), cache.pods(key), cache.rotation(key), poller.latest(key));
        carryOut(key, pass);
        long tookMs = (System.nanoTime() - started) / 1_000_000;
        if (tookMs >= 100) {
            // A slow pass delays every release of every app: worth a line.
            LOG.infof("gate pass for %s took %d ms (%d calls before, %d after)", key, tookMs, before, holds.held(key));
        }
    }

    /** What a pass left to do, its calls already answered: report, then time the next pass. */
    private void carryOut(String key, AppHolds.Pass pass) {
        for (AppHolds.Warning w : pass.warnings()) {
            // Whoever holds an app's token can cause any of these at will (a refused call, a call
            // for a pod with no other ready endpoint, one held to its bound): one Event per app and
            // reason per window, with a count; status.lastDrains keeps every pod's record.
            reporter.warningAggregated(pass.app(), w.reason(), w.note());
        }
        if (!pass.drains().isEmpty()) {
            // Logged by the reporter's thread: a burst of releases must not wait for the console.
            reporter.drained(pass.app(), pass.drains());
        }
        if (!pass.measured().isEmpty()) {
            reporter.measured(pass.app(), pass.measured());
        }
        if (!pass.holding()) {
            Wake w = wakes.remove(key);
            if (w != null) {
                w.timer().cancel(false);
            }
            poller.cancel(key);
            if (pass.forgotten()) {
                poller.forget(key);
            }
            return;
        }
        wakeAt(key, pass.wakeAt(), pass.now());
        if (pass.askIngress() != null) {
            poller.ask(key, pass.askIngress());
        }
    }

    /** A pass of the app at {@code wake}, unless one is due no later. */
    private void wakeAt(String key, Instant wake, Instant now) {
        if (wake == null) {
            return;
        }
        Wake current = wakes.get(key);
        if (current != null && !current.timer().isDone() && !current.at().isAfter(wake)) {
            return;
        }
        if (current != null) {
            current.timer().cancel(false);
        }
        // One millisecond late rather than early: an early wake only reschedules, but costs a pass.
        long delay = Math.max(0, Duration.between(now, wake).toNanos()) + 1_000_000;
        wakes.put(key, new Wake(wake, loop.schedule(() -> {
            // A timer running its pass is not pending any more (isDone() is false until it returns):
            // were it kept, that pass could not set the next timer, and a hold would outlive its bound.
            wakes.remove(key);
            evaluate(key);
        }, delay, TimeUnit.NANOSECONDS)));
    }

    /** An app's next timed pass. */
    private record Wake(Instant at, ScheduledFuture<?> timer) {
    }

    /** Queues a pass for the app: informer bursts collapse into one pass per app. */
    private void poke(String key) {
        if (key == null || !queued.add(key)) {
            return;
        }
        try {
            loop.execute(() -> {
                queued.remove(key);
                evaluate(key);
            });
        } catch (RejectedExecutionException e) {
            queued.remove(key);
        }
    }

    /**
     * Before the drain reporter stops (its observer has priority 1), the gate releases what it still
     * holds, so that each release gets its record. Quarkus's graceful wait ends when no HTTP request
     * is open, but a call can still be held then: the drain helper closes its call itself once the
     * hold has run out on its side, and the gate's own pass at the bound comes a moment later (a
     * second later on a starved node). That release, after the reporter stopped, lost its record in
     * the operator-restart-draining drill. So this waits, up to {@link #SHUTDOWN_WAIT}, until no call
     * is held; the passes run as usual meanwhile, each ending at its bound at the latest.
     */
    void onShutdown(@Observes @Priority(0) ShutdownEvent event) {
        int left = awaitNoneHeld(SHUTDOWN_WAIT);
        if (left > 0) {
            LOG.warnf("gate shutdown: %d call(s) still held after %d s; their records may be lost", left,
                    SHUTDOWN_WAIT.toSeconds());
        }
    }

    /** Longest the shutdown waits for held calls to be released (and recorded). */
    static final Duration SHUTDOWN_WAIT = Duration.ofSeconds(10);

    /** Waits until no call is held or {@code limit} has passed; the calls still held then. */
    int awaitNoneHeld(Duration limit) {
        long deadline = System.nanoTime() + limit.toNanos();
        while (true) {
            int held;
            try {
                // Asked on the loop: the count is the loop's, and a pass in progress finishes first,
                // its records queued.
                held = onLoop(holds::heldTotal);
            } catch (Exception e) {
                LOG.debugf("gate shutdown, counting held calls: %s", e.getMessage());
                return -1;
            }
            if (held == 0 || System.nanoTime() >= deadline) {
                return held;
            }
            try {
                Thread.sleep(100);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return held;
            }
        }
    }

    /** Runs {@code work} on the gate's loop, after what is queued there, and waits up to 5 s for it. */
    private <T> T onLoop(java.util.function.Supplier<T> work) throws Exception {
        return CompletableFuture.supplyAsync(work, loop).get(5, TimeUnit.SECONDS);
    }

    @PreDestroy
    void stop() {
        try {
            onLoop(() -> {
                holds.abandonAll();
                poller.clear();
                return null;
            });
        } catch (Exception e) {
            LOG.debugf("gate shutdown: %s", e.getMessage());
        }
        loop.shutdownNow();
        cache.stop();
    }
}
