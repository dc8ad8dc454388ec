package dev.zdt.operator.gate;

import java.time.Duration;
import java.time.Instant;
import java.time.InstantSource;
import java.util.HashMap;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.function.Function;

import dev.zdt.operator.api.v1alpha1.ZeroDowntimeApp;
import dev.zdt.operator.ingress.IngressObservation;
import dev.zdt.operator.ingress.IngressVerifier;

/**
 * Asks an app's ingress controller what it still routes to, while calls of that app wait for it
 * ({@code verify: ingress}): one question at a time per app, at most one per
 * {@code zdt.gate.ingress-poll-interval}. The latest answer is kept per app for the gate's passes;
 * a failed question is kept as unknown, never as "removed". Confined to the gate's thread: the
 * timers run on it, and each answer is posted back to it.
 */
final class IngressPoller {

    private final ScheduledExecutorService loop;
    private final Duration interval;
    private final InstantSource clock;
    private final Function<String, Question> waitingApp;
    private final Consumer<String> answered;
    private final Map<String, Poll> polls = new HashMap<>();

    /**
     * @param loop the gate's thread
     * @param waitingApp the app and its pods' addresses to ask about when the timer fires, or null once
     *        none of its calls is held
     * @param answered told the app's key once an answer (or a failure) is in
     */
    IngressPoller(ScheduledExecutorService loop, Duration interval, InstantSource clock,
            Function<String, Question> waitingApp, Consumer<String> answered) {
        this.loop = loop;
        this.interval = interval;
        this.clock = clock;
        this.waitingApp = waitingApp;
        this.answered = answered;
    }

    /** The latest answer about the app, or null before the first. */
    IngressObservation latest(String key) {
        Poll p = polls.get(key);
        return p == null ? null : p.latest;
    }

    /** Asks now, or once the interval since the last question has passed; nothing if a question is pending. */
    void ask(String key, IngressVerifier verifier) {
        Poll p = polls.computeIfAbsent(key, k -> new Poll());
        if (p.asking || p.timer != null) {
            return;
        }
        long delay = p.lastAsked == null ? 0
                : Math.max(0, interval.toNanos() - Duration.between(p.lastAsked, clock.instant()).toNanos());
        p.timer = loop.schedule(() -> {
            Poll st = polls.get(key);
            if (st == null) {
                return;
            }
            st.timer = null;
            Question q = waitingApp.apply(key);
            if (q == null) {
                return;
            }
            st.asking = true;
            st.lastAsked = clock.instant();
            verifier.observe(q.app(), q.addresses()).whenComplete((seen, error) -> loop.execute(() -> {
                Poll again = polls.get(key);
                if (again == null) {
                    return;
                }
                again.asking = false;
                again.latest = seen != null ? seen
                        : IngressObservation.unknown(verifier.name() + " check failed ("
                                + error.getClass().getSimpleName() + ")", clock.instant());
                answered.accept(key);
            }));
        }, delay, TimeUnit.NANOSECONDS);
    }

    /** No call of the app waits any more: no next question (one already sent still lands). */
    void cancel(String key) {
        Poll p = polls.get(key);
        if (p != null && p.timer != null) {
            p.timer.cancel(false);
            p.timer = null;
        }
    }

    /** The gate forgot the app: so does the poller, answers included. */
    void forget(String key) {
        polls.remove(key);
    }

    void clear() {
        polls.clear();
    }

    /** What to ask the front end: the app, and its pods' addresses to look for. */
    record Question(ZeroDowntimeApp app, Set<String> addresses) {
    }

    /** One app's questions. */
    private static final class Poll {
        IngressObservation latest;
        boolean asking;
        Instant lastAsked;
        ScheduledFuture<?> timer;
    }
}
