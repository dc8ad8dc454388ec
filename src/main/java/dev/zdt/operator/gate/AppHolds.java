package dev.zdt.operator.gate;

import java.time.Duration;
import java.time.Instant;
import java.time.InstantSource;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.function.Function;

import org.jboss.logging.Logger;

import dev.zdt.operator.Constants;
import dev.zdt.operator.api.InvalidSpecException;
import dev.zdt.operator.api.v1alpha1.DrainRecord;
import dev.zdt.operator.api.v1alpha1.DrainRecord.ReleasedBy;
import dev.zdt.operator.api.v1alpha1.Provider;
import dev.zdt.operator.api.v1alpha1.TrafficSpec.Verify;
import dev.zdt.operator.api.v1alpha1.ZeroDowntimeApp;
import dev.zdt.operator.budget.DrainBudget;
import dev.zdt.operator.budget.PropagationSample;
import dev.zdt.operator.ingress.IngressObservation;
import dev.zdt.operator.ingress.IngressVerifier;
import dev.zdt.operator.ingress.ReplicaAnswer;
import dev.zdt.operator.metrics.GateMetrics;
import io.fabric8.kubernetes.api.model.Pod;

/**
 * The drain gate's holds, app by app: the calls held, the terminating pods they concern, the pod
 * each call is for, and when each is answered. Plain Java with no client, no executor and no clock
 * of its own: {@link DrainGate} hands each pass what its caches show (the app, its pods, the
 * {@link Rotation} of its EndpointSlices, the ingress controller's latest answer), the time comes
 * from the injected clock, and whether a call holds or is released from {@link GateDecision}. A
 * pass answers the calls it decides at once, before any bookkeeping, and returns the rest for the
 * gate to carry out (a {@link Pass}): records and Events to report, when time alone can change an
 * outcome, whether to ask the ingress controller. Not thread-safe: the gate confines it to its
 * thread.
 *
 * <p>Attribution. The kubelet does not expand variables in an httpGet hook, so an app-scoped call
 * names only its app. It is attributed to the oldest terminating pod of the app that no call has
 * claimed (else one an in-flight call claimed), and, because that guess can be wrong (several pods
 * terminating at once, or another replica serving a sibling's call), it waits for every pod of the
 * app that is terminating when it arrives or starts terminating within {@code claimWait} after, and
 * is not released before that allowance has passed. A call for a named pod (exec mode, the drain
 * helper) waits for that pod only. Either waits up to {@code claimWait} for its pod to show as
 * terminating in the cache, then is answered 409.
 *
 * <p>A call is released only by {@link GateDecision}: its pods verified out of rotation, or the
 * hold bound H counted from its arrival. H is the app's drain budget, shortened by the pod's hold
 * annotation when that is lower (see {@link #bounded}); no other call, duplicate or not, changes it.
 */
final class AppHolds {

    static final String UNATTRIBUTED = "GateCallUnattributed";
    static final String HOLD_TIMEOUT = "DrainHoldTimeout";
    static final String NO_OTHER_READY_ENDPOINT = "NoOtherReadyEndpoint";
    private static final Logger LOG = Logger.getLogger(AppHolds.class);

    private final Duration claimWait;
    private final Limits limits;
    private final Function<Provider, Optional<IngressVerifier>> verifiers;
    private final GateMetrics metrics;
    private final InstantSource clock;

    private final Map<String, AppState> states = new HashMap<>();
    private final Map<String, Integer> openByNamespace = new HashMap<>();
    /** Per app, the front-end replicas seen routing to it; kept across drains (one small set per app). */
    private final Map<String, IngressVerdict.Sightings> sightings = new HashMap<>();
    private int open;

    /**
     * Calls held at once: by this replica in all, by the apps of one namespace, by one app. A
     * namespace's share is below the whole, so the calls of one tenant never fill the gate for the
     * others. A refused call (429) is asked again by the drain helper until its hold has passed.
     */
    record Limits(int all, int perNamespace, int perApp) {
        Limits {
            if (perApp < 1 || perNamespace < perApp || all < perNamespace) {
                throw new IllegalArgumentException("gate limits must satisfy 1 <= zdt.gate.max-holds-per-app ("
                        + perApp + ") <= zdt.gate.max-holds-per-namespace (" + perNamespace
                        + ") <= zdt.gate.max-holds (" + all + ")");
            }
        }
    }

    /**
     * @param claimWait how long a call waits for its pod to show as terminating ({@code zdt.gate.claim-wait})
     * @param limits calls held at once ({@code zdt.gate.max-holds}, {@code -per-namespace}, {@code -per-app})
     * @param verifiers the ingress check for a provider, if there is one
     * @param clock the time of passes and answers; calls bring their own arrival time
     */
    AppHolds(Duration claimWait, Limits limits,
            Function<Provider, Optional<IngressVerifier>> verifiers, GateMetrics metrics, InstantSource clock) {
        this.claimWait = claimWait;
        this.limits = limits;
        this.verifiers = verifiers;
        this.metrics = metrics;
        this.clock = clock;
    }

    /**
     * A preStop call as it arrived.
     *
     * @param exactPod the pod the caller names (exec mode), or null for an app-scoped call (httpGet mode)
     */
    /**
     * Calls held at once for one pod that proved who it is (its own token): the helper has one
     * open at a time, a second only while a dropped one is not yet noticed. So a namespace holds
     * at most this many calls per terminating pod it really has.
     */
    static final int MAX_PROVEN_CALLS_PER_POD = 2;

    static final class Call {
        final String namespace;
        final String app;
        final String exactPod;
        /** The uid a pod token proved, or null (app tokens, auth off). */
        String exactUid;
        final Instant arrived;
        final CompletableFuture<GateAnswer> answer = new CompletableFuture<>();
        Instant claimDeadline;
        /** The pod the call is attributed to; null until it is. */
        String pod;

        Call(String namespace, String app, String exactPod, Instant arrived) {
            this.namespace = namespace;
            this.app = app;
            this.exactPod = exactPod;
            this.arrived = arrived;
        }
    }

    /** A Warning Event for the app. */
    record Warning(String reason, String note) {
    }

    /**
     * What a pass leaves to the gate, its calls already answered.
     *
     * @param now the time the pass ran at
     * @param app the app as last seen (a deleted app keeps its last known spec)
     * @param warnings Events to record, in order
     * @param drains the calls released, oldest first, for status.lastDrains and the log
     * @param wakeAt when time alone can next change an outcome, or null; set only while holding
     * @param askIngress the ingress check to ask, or null; set only while holding
     * @param holding calls of the app are still held
     * @param forgotten the app's state is gone: no call held and no answered pod still terminating
     * @param measured drains whose propagation was measured to the end, for status.observedPropagation
     */
    record Pass(Instant now, ZeroDowntimeApp app, List<Warning> warnings, List<DrainRecord> drains, Instant wakeAt,
            IngressVerifier askIngress, boolean holding, boolean forgotten, List<PropagationSample> measured) {

        Pass(Instant now, ZeroDowntimeApp app, List<Warning> warnings, List<DrainRecord> drains, Instant wakeAt,
                IngressVerifier askIngress, boolean holding, boolean forgotten) {
            this(now, app, warnings, drains, wakeAt, askIngress, holding, forgotten, List.of());
        }
    }

    /**
     * How long a replica still routing to a pod when its hold ended is followed: asked until it
     * stops, at most this long after the hold began; its figure is then a lower bound.
     */
    static final Duration FOLLOW_LATE = Duration.ofMinutes(5);
    /** Late pods followed at once per app; beyond, a late drain's figure is taken at its release (a lower bound). */
    static final int FOLLOWED_PER_APP = 100;

    // ---------------------------------------------------------------- operations

    /**
     * A call arrived: answered at once when the gate holds no such pod (404) or is full (429),
     * else held until a {@link #pass} of its app decides it.
     *
     * @param app the call's app as the cache shows it, or null
     * @param namedPod the pod the call names as the cache shows it, or null (always null for an app-scoped call)
     * @return whether the call is held
     */
    boolean arrive(Call call, ZeroDowntimeApp app, Pod namedPod) {
        String key = GateCache.key(call.namespace, call.app);
        if (app == null) {
            call.answer.complete(answer(404, "no ZeroDowntimeApp " + key
                    + ": the drain gate holds only pods of ZeroDowntimeApps\n"));
            return false;
        }
        if (call.exactPod != null
                && (namedPod == null || !call.app.equals(GateCache.label(namedPod, Constants.APP_LABEL)))) {
            call.answer.complete(answer(404, "pod " + call.namespace + "/" + call.exactPod
                    + " is not a pod of ZeroDowntimeApp " + key + "\n"));
            return false;
        }
        AppState s = states.get(key);
        if (call.exactUid != null && s != null
                && s.calls.stream().filter(c -> call.exactPod.equals(c.exactPod)).count() >= MAX_PROVEN_CALLS_PER_POD) {
            // A pod's own token opens the gate for that pod only, and its helper asks one call at a
            // time: more at once is a flood, which may not take its namespace's or others' share.
            call.answer.complete(answer(429, "pod " + call.namespace + "/" + call.exactPod + " already has "
                    + MAX_PROVEN_CALLS_PER_POD + " calls held; ask again once they are answered\n"));
            return false;
        }
        int inApp = s == null ? 0 : s.calls.size();
        int inNamespace = openByNamespace.getOrDefault(call.namespace, 0);
        String full = inApp >= limits.perApp() ? "app " + key + " (zdt.gate.max-holds-per-app=" + limits.perApp() + ")"
                : inNamespace >= limits.perNamespace() ? "namespace " + call.namespace
                        + " (zdt.gate.max-holds-per-namespace=" + limits.perNamespace() + ")"
                : open >= limits.all() ? "this replica (zdt.gate.max-holds=" + limits.all() + ")" : null;
        if (full != null) {
            // Only the caller's own app and namespace are named: the answer says nothing of other tenants.
            call.answer.complete(answer(429, "the gate holds as many calls as it may for " + full
                    + "; ask again (" + inApp + " held for " + key + ")\n"));
            return false;
        }
        if (s == null) {
            s = new AppState(key, call.namespace);
            // The app as the call found it: should it be deleted before the first pass, its spec still holds.
            s.app = app;
            budget(s);
            states.put(key, s);
        }
        call.claimDeadline = call.arrived.plus(claimWait);
        s.calls.add(call);
        open++;
        openByNamespace.merge(call.namespace, 1, Integer::sum);
        metrics.holdStarted();
        return true;
    }

    /** Whether the gate keeps state for the app: calls held, or pods it answered still terminating. */
    boolean tracks(String key) {
        return states.containsKey(key);
    }

    /** Calls held right now, all apps. */
    int heldTotal() {
        return open;
    }

    /** Calls of the app held right now. */
    int held(String key) {
        AppState s = states.get(key);
        return s == null ? 0 : s.calls.size();
    }

    /** The app to ask the ingress controller about, or null once none of its calls is held. */
    ZeroDowntimeApp waitingApp(String key) {
        AppState s = states.get(key);
        return s == null || (s.calls.isEmpty() && s.followed.isEmpty()) ? null : s.app;
    }

    /** What to ask the ingress controller about the app (its pods' addresses as of the last pass), or null. */
    IngressPoller.Question question(String key) {
        ZeroDowntimeApp app = waitingApp(key);
        if (app == null) {
            return null;
        }
        AppState s = states.get(key);
        Set<String> addresses = new HashSet<>(s.addresses);
        s.followed.forEach(f -> addresses.add(f.address));
        return new IngressPoller.Question(app, Set.copyOf(addresses));
    }

    /**
     * Decides every held call of a tracked app against what the caches show now: answers those
     * released or refused, and returns what is left to do.
     *
     * @param current the app from the cache, or null once deleted
     * @param pods the app's pods in the cache, terminating or not
     * @param rotation what the app's EndpointSlices offer as ready
     * @param ingress the ingress controller's latest answer about the app, or null
     */
    Pass pass(String key, ZeroDowntimeApp current, Collection<Pod> pods, Rotation rotation, IngressObservation ingress) {
        AppState s = states.get(key);
        Instant now = clock.instant();
        if (current != null) {
            s.app = current;
            budget(s);
        } else {
            // Nobody reads a deleted app's figures: stop asking its front end about pods already answered.
            s.followed.clear();
        }
        // A deleted app keeps its last known spec: the holds of its pods end by their own rules.
        Verify verify = s.app.getSpec().getTraffic().getVerify();
        Optional<IngressVerifier> verifier = verifiers.apply(s.app.getSpec().getTraffic().getProvider());

        long passNo = ++s.passes;
        boolean asksIngress = verify == Verify.INGRESS;
        Set<String> readyAddresses = asksIngress ? new HashSet<>() : Set.of();
        if (asksIngress) {
            s.addresses.clear();
        }
        for (Pod p : pods) {
            if (asksIngress && p.getStatus() != null && p.getStatus().getPodIP() != null) {
                String ip = p.getStatus().getPodIP();
                s.addresses.add(ip);
                if (rotation.offers(p.getMetadata().getName(), ip)) {
                    readyAddresses.add(ip);
                }
            }
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
        IngressVerdict.Sightings seen = null;
        if (asksIngress && ingress != null && ingress.known()) {
            seen = sightings.computeIfAbsent(key, k -> new IngressVerdict.Sightings());
            seen.record(ingress, readyAddresses);
        }
        for (Tracked t : s.tracked.values()) {
            t.inCache = t.seenInPass == passNo;
            if (asksIngress && t.address != null) {
                s.addresses.add(t.address);
            }
            if (rotation.offers(t.pod, t.address)) {
                t.outOfRotationSince = null;
            } else if (t.outOfRotationSince == null) {
                t.outOfRotationSince = now;
            }
            if (seen != null && fresh(ingress, t)) {
                if (t.ingressReplicas == null) {
                    t.ingressReplicas = Set.copyOf(ingress.replicas().keySet());
                }
                t.verdict = IngressVerdict.judge(t.address, t.ingressReplicas, ingress, seen);
                t.watch(ingress, seen, now);
                if (t.verdict.state() == GateDecision.Ingress.ROUTED) {
                    t.ingressGoneSince = null;
                } else if (t.verdict.state() == GateDecision.Ingress.GONE && t.ingressGoneSince == null
                        && t.outOfRotationSince != null) {
                    t.ingressGoneSince = now;
                    metrics.propagationObserved(Duration.between(t.outOfRotationSince, now));
                }
            }
        }

        List<PropagationSample> measured = new ArrayList<>();
        Instant wake = follow(s, ingress, now, measured);
        boolean askIngress = false;
        GateDecision.Rules rules = new GateDecision.Rules(now, s.propagation, verify,
                verifier.map(IngressVerifier::name).orElse("the ingress controller"));
        Prefixes prefixes = null;
        Instant latestCutoff = null;
        Set<String> claimed = new HashSet<>();
        List<Report> reports = new ArrayList<>();
        List<Warning> warnings = new ArrayList<>();
        for (Call c : new ArrayList<>(s.calls)) {
            if (c.pod == null) {
                String pick = c.exactPod != null ? (s.tracked.containsKey(c.exactPod) ? c.exactPod : null) : claim(s);
                if (pick == null) {
                    if (!now.isBefore(c.claimDeadline)) {
                        warnings.add(refuse(s, c, now));
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
            if (own.holdStart == null || c.arrived.isBefore(own.holdStart)) {
                own.holdStart = c.arrived;
            }
            GateDecision.Check check;
            Duration hold;
            int others;
            Instant settle = c.arrived;
            if (c.exactPod != null) {
                check = GateDecision.Check.NONE.with(rules, target(s, own, verifier, ingress));
                hold = bounded(own.holdSeconds == null ? null : Duration.ofSeconds(own.holdSeconds), s.defaultHold);
                others = rotation.readyCount() - (rotation.offers(own.pod, own.address) ? 1 : 0);
            } else {
                // Every pod seen terminating up to claimWait after arrival: one of them is the caller.
                Instant cutoff = latest(c.arrived.plus(claimWait), own.firstSeen);
                latestCutoff = latestCutoff == null ? cutoff : latest(latestCutoff, cutoff);
                // Until the cutoff the caller's own deletion may still be on its way to this cache.
                settle = cutoff;
                if (prefixes == null) {
                    prefixes = new Prefixes(s, rules, rotation, verifier, ingress);
                }
                int k = prefixes.upTo(cutoff);
                check = prefixes.checks[k];
                // The hold the pods were created with: their grace period covers that one, not a later edit.
                hold = bounded(prefixes.minHold[k], s.defaultHold);
                others = rotation.readyCount() - prefixes.offered[k];
            }
            GateDecision.Outcome outcome = GateDecision.decide(c.arrived, now, hold, verify, check, others, settle);
            if (outcome instanceof GateDecision.Release r) {
                reports.add(release(s, c, r, now, hold));
            } else if (outcome instanceof GateDecision.Hold h) {
                wake = earlier(wake, h.wakeAt());
                askIngress |= verify == Verify.INGRESS;
            }
        }

        // Every released call is answered before any bookkeeping: a burst of releases answers fast.
        List<DrainRecord> drains = reports.isEmpty() ? List.of() : report(s, reports, verify, warnings);
        if (verify == Verify.INGRESS && !reports.isEmpty()) {
            measure(s, reports, ingress, seen, now, verifier, measured);
        }
        // A pod this pass began to follow is asked about again, even with no call left to ask for.
        for (Followed f : s.followed) {
            wake = earlier(wake, f.holdStart.plus(FOLLOW_LATE));
            askIngress = true;
        }

        // Forget pods that left the cache and that no open call waits for.
        Instant keepSeenUpTo = latestCutoff;
        s.tracked.values().removeIf(t -> !t.inCache && !claimed.contains(t.pod)
                && (keepSeenUpTo == null || t.firstSeen.isAfter(keepSeenUpTo)));
        s.answeredClaims.retainAll(s.tracked.keySet());

        IngressVerifier ask = askIngress && verifier.isPresent() ? verifier.get() : null;
        if (s.calls.isEmpty() && s.followed.isEmpty()) {
            boolean forgotten = s.answeredClaims.isEmpty();
            if (forgotten) {
                states.remove(key);
            }
            return new Pass(now, s.app, warnings, drains, null, null, false, forgotten, measured);
        }
        // Calls held, or only late replicas followed: either way the front end is asked again.
        return new Pass(now, s.app, warnings, drains, wake, ask, true, false, measured);
    }

    /** The operator is stopping: every held call is answered 503 and the state dropped. Returns how many. */
    int abandonAll() {
        int n = 0;
        for (AppState s : states.values()) {
            for (Call c : new ArrayList<>(s.calls)) {
                finish(s, c);
                metrics.holdAbandoned();
                // The kubelet proceeds to SIGTERM on any answer or a closed connection alike; say why.
                c.answer.complete(answer(503, "this operator replica is shutting down; hold ended early\n"));
                n++;
            }
        }
        states.clear();
        openByNamespace.clear();
        return n;
    }

    // ---------------------------------------------------------------- a pass's parts

    private void budget(AppState s) {
        try {
            DrainBudget b = DrainBudget.of(s.app);
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

    /**
     * The hold of a call: the app's own budget. The pod's hold annotation (the budget its template
     * was rendered with) may only shorten it, for pods created before the budget grew, whose grace
     * period covers the shorter hold; anything on a pod a tenant could write never lengthens it.
     */
    static Duration bounded(Duration pod, Duration budget) {
        return pod != null && pod.compareTo(budget) < 0 ? pod : budget;
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

    private static GateDecision.Target target(AppState s, Tracked t, Optional<IngressVerifier> verifier,
            IngressObservation ingress) {
        String detail = ingressDetail(s, verifier, ingress);
        if (detail == null && !fresh(ingress, t)) {
            detail = "its last answer was asked before " + t.pod + " started terminating; asking again";
        }
        if (detail == null && t.verdict != null) {
            detail = t.verdict.detail();
        }
        return new GateDecision.Target(t.pod, t.address, t.outOfRotationSince, ingress(t, verifier, ingress),
                detail);
    }

    /**
     * An answer counts for a pod only if it was asked once the pod was terminating: one kept from
     * an earlier drain may predate the front end routing to the pod at all.
     */
    private static boolean fresh(IngressObservation ingress, Tracked t) {
        return ingress != null && ingress.known() && !ingress.askedAt().isBefore(t.firstSeen);
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

        Prefixes(AppState s, GateDecision.Rules rules, Rotation rotation, Optional<IngressVerifier> verifier,
                IngressObservation ingress) {
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
                checks[i + 1] = checks[i].with(rules, target(s, t, verifier, ingress));
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

    private static GateDecision.Ingress ingress(Tracked t, Optional<IngressVerifier> verifier,
            IngressObservation ingress) {
        if (verifier.isEmpty() || !fresh(ingress, t) || t.verdict == null) {
            return GateDecision.Ingress.UNKNOWN;
        }
        return t.verdict.state();
    }

    private static String ingressDetail(AppState s, Optional<IngressVerifier> verifier, IngressObservation ingress) {
        if (verifier.isEmpty()) {
            return "no ingress check exists for provider " + s.app.getSpec().getTraffic().getProvider();
        }
        if (ingress == null) {
            return "no answer yet";
        }
        return ingress.known() ? null : ingress.detail();
    }

    /** Answers the call at once; what only people read is done by {@link #report} after the pass. */
    private Report release(AppState s, Call c, GateDecision.Release r, Instant now, Duration hold) {
        finish(s, c);
        s.answeredClaims.add(c.pod);
        Duration held = Duration.between(c.arrived, now);
        String outcome = GateMetrics.outcome(r.by());
        double seconds = Math.round(held.toMillis() / 100.0) / 10.0;
        c.answer.complete(answer(200, outcome + " after " + seconds + "s: " + r.message() + "\n"));
        return new Report(c, r, held, seconds, hold);
    }

    /** A released call, for what people read afterwards. */
    private record Report(Call call, GateDecision.Release release, Duration held, double seconds, Duration hold) {
    }

    /** The pass's releases as records (one batch: one task, one status patch) and their Events. */
    private List<DrainRecord> report(AppState s, List<Report> reports, Verify verify, List<Warning> warnings) {
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
                warnings.add(new Warning(HOLD_TIMEOUT, "pod " + c.pod + " got SIGTERM unverified after "
                        + rep.seconds() + "s: " + r.message()));
            }
            if (r.lastServer()) {
                warnings.add(new Warning(NO_OTHER_READY_ENDPOINT, "pod " + c.pod + " was drained while no other "
                        + "ready endpoint serves " + s.key + "; requests fail until a new pod is ready"));
            }
        }
        return records;
    }

    private Warning refuse(AppState s, Call c, Instant now) {
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
        c.answer.complete(answer(409, text + "\n"));
        return new Warning(UNATTRIBUTED, text);
    }

    private void finish(AppState s, Call c) {
        s.calls.remove(c);
        open--;
        openByNamespace.computeIfPresent(c.namespace, (k, n) -> n > 1 ? n - 1 : null);
        if (c.pod != null) {
            s.inFlightClaims.computeIfPresent(c.pod, (k, n) -> n > 1 ? n - 1 : null);
        }
    }

    private GateAnswer answer(int status, String text) {
        return new GateAnswer(status, text, clock.instant());
    }

    private static Instant latest(Instant a, Instant b) {
        return b.isAfter(a) ? b : a;
    }

    private static Instant earlier(Instant a, Instant b) {
        return a == null || b.isBefore(a) ? b : a;
    }

    // ---------------------------------------------------------------- measuring propagation

    /**
     * The released pods' propagation, replica by replica, from the hold's start until each stopped
     * routing to the pod. A pod whose hold ended while a replica still routed is followed until that
     * replica stops ({@link #FOLLOW_LATE} at most); the others are measured now. A replica that could
     * not be asked, or was never seen listing the app, gives no figure.
     */
    private void measure(AppState s, List<Report> reports, IngressObservation ingress, IngressVerdict.Sightings seen,
            Instant now, Optional<IngressVerifier> verifier, List<PropagationSample> measured) {
        if (ingress == null || !ingress.known() || seen == null || verifier.isEmpty()) {
            return;
        }
        for (Report rep : reports) {
            Tracked t = s.tracked.get(rep.call().pod);
            if (t == null || t.measured || t.address == null || t.holdStart == null || t.ingressReplicas == null
                    || !fresh(ingress, t)) {
                continue;
            }
            t.measured = true;
            Followed f = new Followed(t.pod, t.address, t.holdStart, (int) rep.hold().toSeconds(),
                    verifier.get().name(), now);
            for (String r : counted(t.ingressReplicas, ingress)) {
                ReplicaAnswer a = ingress.replicas().get(r);
                if (a == null || !a.known() || !seen.saw(r)) {
                    continue;
                }
                String shown = ingress.shown(r);
                if (a.routes(t.address)) {
                    f.routing.put(r, shown);
                    f.late.add(shown);
                } else {
                    Instant stopped = t.stoppedAt.getOrDefault(r, now);
                    f.seconds.put(shown, seconds(t.holdStart, stopped));
                }
            }
            if (f.routing.isEmpty() || s.followed.size() >= FOLLOWED_PER_APP) {
                f.routing.forEach((r, shown) -> f.seconds.put(shown, seconds(f.holdStart, now)));
                emit(s, f, measured);
            } else {
                s.followed.add(f);
            }
        }
    }

    /** Late replicas asked again: those that stopped get their figure; a pod done or past its limit is emitted. */
    private Instant follow(AppState s, IngressObservation ingress, Instant now,
            List<PropagationSample> measured) {
        Instant wake = null;
        for (Followed f : new ArrayList<>(s.followed)) {
            boolean answered = ingress != null && ingress.known() && !ingress.askedAt().isBefore(f.releasedAt);
            if (answered) {
                for (String r : new ArrayList<>(f.routing.keySet())) {
                    ReplicaAnswer a = ingress.replicas().get(r);
                    if (a == null) {
                        // The replica left the front end: it routes nowhere now, from this answer on.
                        f.seconds.put(f.routing.remove(r), seconds(f.holdStart, now));
                    } else if (a.known() && !a.routes(f.address)) {
                        f.seconds.put(f.routing.remove(r), seconds(f.holdStart, now));
                    }
                }
            }
            Instant limit = f.holdStart.plus(FOLLOW_LATE);
            if (!f.routing.isEmpty() && now.isBefore(limit)) {
                wake = earlier(wake, limit);
                continue;
            }
            f.routing.forEach((r, shown) -> f.seconds.put(shown, seconds(f.holdStart, now)));
            f.routing.clear();
            s.followed.remove(f);
            emit(s, f, measured);
        }
        return wake;
    }

    private void emit(AppState s, Followed f, List<PropagationSample> measured) {
        if (f.seconds.isEmpty()) {
            return;
        }
        PropagationSample sample = new PropagationSample(f.pod, f.frontEnd, f.holdSeconds, f.seconds, f.late);
        f.seconds.values().forEach(v -> metrics.propagationMeasured(s.namespace, s.app.getMetadata().getName(),
                f.frontEnd, v));
        measured.add(sample);
    }

    /** The replicas a drain's verdict counts: those of its start still serving, or all now serving when none is. */
    private static Set<String> counted(Set<String> atStart, IngressObservation o) {
        Set<String> counted = new java.util.LinkedHashSet<>(o.replicas().keySet());
        counted.retainAll(atStart);
        return counted.isEmpty() ? o.replicas().keySet() : counted;
    }

    private static double seconds(Instant from, Instant to) {
        return Math.max(0, Duration.between(from, to).toMillis()) / 1000.0;
    }

    /** A released pod whose hold ended while some replica still routed to it. */
    private static final class Followed {
        final String pod;
        final String address;
        final Instant holdStart;
        final int holdSeconds;
        final String frontEnd;
        final Instant releasedAt;
        /** Replicas still routing, by name, with the name the tenant may read. */
        final Map<String, String> routing = new LinkedHashMap<>();
        final Map<String, Double> seconds = new LinkedHashMap<>();
        final Set<String> late = new HashSet<>();

        Followed(String pod, String address, Instant holdStart, int holdSeconds, String frontEnd, Instant releasedAt) {
            this.pod = pod;
            this.address = address;
            this.holdStart = holdStart;
            this.holdSeconds = holdSeconds;
            this.frontEnd = frontEnd;
            this.releasedAt = releasedAt;
        }
    }

    // ---------------------------------------------------------------- state

    /** One app's open calls and the terminating pods they concern. */
    private static final class AppState {
        final String key;
        final String namespace;
        ZeroDowntimeApp app;
        Duration propagation;
        Duration defaultHold;
        final List<Call> calls = new ArrayList<>();
        final Map<String, Tracked> tracked = new HashMap<>();
        final Map<String, Integer> inFlightClaims = new HashMap<>();
        final Set<String> answeredClaims = new HashSet<>();
        /** verify: ingress: the addresses of the app's pods in the last pass, tracked ones included, to look for. */
        final Set<String> addresses = new HashSet<>();
        /** Passes run so far; a tracked pod seen in the cache by the current pass carries its number. */
        long passes;
        /** Released pods with a replica that still routed to them at the end of their hold. */
        final List<Followed> followed = new ArrayList<>();

        AppState(String key, String namespace) {
            this.key = key;
            this.namespace = namespace;
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
        /** The front end's replicas when its drain began (first answer asked since), and its latest verdict. */
        Set<String> ingressReplicas;
        IngressVerdict.Verdict verdict;
        /** The earliest arrival of a call held for this pod: where its measured propagation starts. */
        Instant holdStart;
        /** Per front-end replica (seen listing the app), since when it no longer routes to the pod. */
        final Map<String, Instant> stoppedAt = new HashMap<>();
        /** Its propagation was measured (a duplicate call's release measures nothing more). */
        boolean measured;

        Tracked(String pod, Instant firstSeen) {
            this.pod = pod;
            this.firstSeen = firstSeen;
        }

        /** Notes, from a fresh answer, which replicas stopped routing to the pod, and which route to it again. */
        void watch(IngressObservation o, IngressVerdict.Sightings seen, Instant now) {
            if (address == null) {
                return;
            }
            for (ReplicaAnswer a : o.replicas().values()) {
                if (!a.known()) {
                    continue;
                }
                if (a.routes(address)) {
                    stoppedAt.remove(a.replica());
                } else if (seen.saw(a.replica())) {
                    stoppedAt.putIfAbsent(a.replica(), now);
                }
            }
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
                    int seconds = Integer.parseInt(hold.trim());
                    holdSeconds = seconds > 0 ? seconds : null;
                } catch (NumberFormatException e) {
                    // Not a number, or beyond an int: the budget decides (see bounded).
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
}
