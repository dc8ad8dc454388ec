package dev.zdt.operator.kube;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.time.Instant;
import java.time.InstantSource;
import java.util.Base64;
import java.util.HexFormat;
import java.util.Map;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

/**
 * Bearer tokens checked by the API server (a TokenReview, and whatever else a {@link Reviewer}
 * asks), at a cost to the API server and to this process that a caller cannot raise at will. The
 * drain gate's pod tokens and the metrics endpoint's scrapers both go through one of these.
 *
 * <p>What a caller can make it cost. A token the {@link Reviewer} finds junk from what it says of
 * itself is refused without asking the API server. An answer is remembered by the token's SHA-256
 * (an accepted one until the token expires or for {@link Bounds#acceptedFor()}, a refusal, 401 or
 * 403, for {@link Bounds#refusedFor()}), and concurrent calls with one token share one review. At
 * most {@code max-reviews} reviews run at once; each caller address may have
 * {@code max-reviews-per-caller} waiting or running, all callers {@code max-pending-reviews};
 * beyond that, and for {@link Bounds#barredFor()} after one of its tokens was refused, a caller
 * gets 429 at once. A failed review (the API server unreachable, RBAC missing) is 503 and is not
 * remembered.
 *
 * @param <V> the reviewer's verdict
 */
public final class BoundedReviews<V extends BoundedReviews.Outcome> {

    /** Longer than any token a kubelet mounts or kubectl creates (a few KiB), short enough to parse at once. */
    public static final int MAX_TOKEN_CHARS = 16 * 1024;

    private static final ObjectMapper JSON = new ObjectMapper();

    /** A verdict's HTTP status: 200 accepted, 401 refused, 403 forbidden, 429 try later, 503 not checked now. */
    public interface Outcome {
        int status();
    }

    /** What a token says of itself, unverified: it can only spare the API server a token that cannot pass. */
    public record Precheck(String junk, Instant expires) {
        /** Not worth a review, for this reason. */
        public static Precheck junk(String why) {
            return new Precheck(why, null);
        }

        /** Worth a review; an accepted answer is not remembered past {@code expires} (null: unknown). */
        public static Precheck worthAReview(Instant expires) {
            return new Precheck(null, expires);
        }
    }

    /** The part that differs between users: what a token is worth before and after the API server is asked. */
    public interface Reviewer<V> {
        Precheck precheck(String token, Instant now);

        /** Asks the API server; blocks, on a review thread. Never throws: a failure is a 503 verdict. */
        V ask(String token);

        /** A verdict that refuses with this status and text. */
        V refusal(int status, String text);
    }

    /**
     * @param settings the configuration prefix the limits come from, named in the 429 texts
     */
    public record Bounds(int maxReviews, int maxPerCaller, int maxPending, int cacheSize, Duration acceptedFor,
            Duration refusedFor, Duration barredFor, String settings) {
    }

    private record Remembered<V>(V verdict, Instant until) {
    }

    private final Reviewer<V> reviewer;
    private final InstantSource clock;
    private final Bounds bounds;
    private final ThreadPoolExecutor reviewers;

    private final Map<String, Remembered<V>> remembered = new ConcurrentHashMap<>();
    private final Map<String, CompletableFuture<V>> running = new ConcurrentHashMap<>();
    private final Map<String, AtomicInteger> perCaller = new ConcurrentHashMap<>();
    private final Map<String, Instant> barred = new ConcurrentHashMap<>();
    private final AtomicInteger pending = new AtomicInteger();

    public BoundedReviews(Reviewer<V> reviewer, InstantSource clock, Bounds bounds, String threadName) {
        if (bounds.maxReviews() < 1) {
            throw new IllegalArgumentException(bounds.settings() + ".max-reviews must be at least 1, not " + bounds.maxReviews());
        }
        this.reviewer = reviewer;
        this.clock = clock;
        this.bounds = bounds;
        // The queue never fills: pending (running + queued) is bounded by maxPending before a task is submitted.
        this.reviewers = new ThreadPoolExecutor(bounds.maxReviews(), bounds.maxReviews(), 30, TimeUnit.SECONDS,
                new ArrayBlockingQueue<>(Math.max(1, bounds.maxPending())), r -> {
                    Thread t = new Thread(r, threadName);
                    t.setDaemon(true);
                    return t;
                });
        this.reviewers.allowCoreThreadTimeOut(true);
    }

    /** The token of {@code Authorization: Bearer <token>}, or null when there is none. */
    public static String bearer(String authorization) {
        if (authorization == null || !authorization.regionMatches(true, 0, "Bearer ", 0, 7)) {
            return null;
        }
        String token = authorization.substring(7).trim();
        return token.isEmpty() ? null : token;
    }

    /** Whether the bearer value is shaped like a JWT: three base64url parts, none too long. */
    public static boolean isJwt(String token) {
        if (token == null || token.isEmpty() || token.length() > MAX_TOKEN_CHARS) {
            return false;
        }
        int dots = 0;
        for (int i = 0; i < token.length(); i++) {
            char c = token.charAt(i);
            if (c == '.') {
                dots++;
            } else if (!(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_')) {
                return false;
            }
        }
        return dots == 2;
    }

    /** A JWT's claims as it states them, unverified; null when it is no JWT or they are no JSON object. */
    public static JsonNode claims(String token) {
        if (!isJwt(token)) {
            return null;
        }
        String[] parts = token.split("\\.", -1);
        try {
            JsonNode n = JSON.readTree(Base64.getUrlDecoder().decode(parts[1]));
            return n != null && n.isObject() ? n : null;
        } catch (IllegalArgumentException | java.io.IOException e) {
            return null;
        }
    }

    /**
     * What {@code token} proves. Never fails; completes on a review thread or at once.
     *
     * @param caller the caller's address, for the per-caller bound
     */
    public CompletionStage<V> review(String token, String caller) {
        Instant now = clock.instant();
        String key = sha256(token);
        Remembered<V> r = remembered.get(key);
        if (r != null && r.until().isAfter(now)) {
            return CompletableFuture.completedFuture(r.verdict());
        }
        CompletableFuture<V> same = running.get(key);
        if (same != null) {
            return same;
        }
        Precheck pre = reviewer.precheck(token, now);
        if (pre.junk() != null) {
            // Not worth a review: refused here, and the caller barred as for a refused review.
            V v = reviewer.refusal(401, pre.junk());
            remember(key, v, now.plus(bounds.refusedFor()), now);
            bar(caller, now);
            return CompletableFuture.completedFuture(v);
        }
        Instant until = barred.get(caller);
        if (until != null && until.isAfter(now)) {
            return CompletableFuture.completedFuture(reviewer.refusal(429, "a token from " + caller
                    + " was refused a moment ago; its next one is reviewed after " + bounds.barredFor().toMillis() + " ms"));
        }
        AtomicInteger mine = perCaller.computeIfAbsent(caller, k -> new AtomicInteger());
        if (mine.incrementAndGet() > bounds.maxPerCaller()) {
            release(caller, mine, false);
            return CompletableFuture.completedFuture(reviewer.refusal(429, bounds.maxPerCaller() + " tokens from "
                    + caller + " are being reviewed already (" + bounds.settings() + ".max-reviews-per-caller)"));
        }
        if (pending.incrementAndGet() > bounds.maxPending()) {
            release(caller, mine, true);
            return CompletableFuture.completedFuture(reviewer.refusal(429, "as many tokens are being reviewed as may be ("
                    + bounds.settings() + ".max-pending-reviews=" + bounds.maxPending() + ")"));
        }
        CompletableFuture<V> mineFuture = new CompletableFuture<>();
        CompletableFuture<V> other = running.putIfAbsent(key, mineFuture);
        if (other != null) {
            release(caller, mine, true);
            return other;
        }
        try {
            reviewers.execute(() -> {
                V v = reviewer.ask(token);
                Instant done = clock.instant();
                if (v.status() == 200) {
                    Instant keep = done.plus(bounds.acceptedFor());
                    remember(key, v, pre.expires() != null && pre.expires().isBefore(keep) ? pre.expires() : keep, done);
                } else if (v.status() == 401 || v.status() == 403) {
                    remember(key, v, done.plus(bounds.refusedFor()), done);
                    bar(caller, done);
                }
                running.remove(key);
                release(caller, mine, true);
                mineFuture.complete(v);
            });
        } catch (RejectedExecutionException e) {
            running.remove(key);
            release(caller, mine, true);
            mineFuture.complete(reviewer.refusal(503, "the operator is shutting down; the token was not reviewed"));
        }
        return mineFuture;
    }

    /** Tokens whose review is remembered now (for tests and the bound). */
    public int rememberedCount() {
        return remembered.size();
    }

    private void remember(String key, V v, Instant until, Instant now) {
        if (remembered.size() >= bounds.cacheSize()) {
            remembered.values().removeIf(r -> !r.until().isAfter(now));
            if (remembered.size() >= bounds.cacheSize()) {
                return; // full of live entries: review again next time rather than grow
            }
        }
        remembered.put(key, new Remembered<>(v, until));
    }

    private void bar(String caller, Instant now) {
        if (barred.size() >= bounds.cacheSize()) {
            barred.values().removeIf(t -> !t.isAfter(now));
        }
        if (barred.size() < bounds.cacheSize()) {
            barred.put(caller, now.plus(bounds.barredFor()));
        }
    }

    private void release(String caller, AtomicInteger mine, boolean counted) {
        if (counted) {
            pending.decrementAndGet();
        }
        if (mine.decrementAndGet() <= 0) {
            perCaller.remove(caller, mine);
        }
    }

    /** A text from the API server, cut to a length that fits an answer. */
    public static String cut(String s) {
        return s.length() <= 200 ? s : s.substring(0, 200) + "...";
    }

    static String sha256(String token) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(token.getBytes(StandardCharsets.UTF_8)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Stops the review threads; a review asked for afterwards is 503. */
    public void stop() {
        reviewers.shutdownNow();
    }
}
