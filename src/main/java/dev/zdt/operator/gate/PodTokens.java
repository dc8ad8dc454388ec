package dev.zdt.operator.gate;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.time.Instant;
import java.time.InstantSource;
import java.util.Base64;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;

import jakarta.annotation.PreDestroy;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;

import org.jboss.logging.Logger;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import io.fabric8.kubernetes.api.model.authentication.TokenReview;
import io.fabric8.kubernetes.api.model.authentication.TokenReviewBuilder;
import io.fabric8.kubernetes.api.model.authentication.UserInfo;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import dev.zdt.operator.pod.PodIdentity;
import dev.zdt.operator.GateConfig;

/**
 * Checks a pod's projected ServiceAccount token ({@link PodIdentity}) with a TokenReview and says
 * which pod sent it: namespace, pod name and pod uid come from what the API server returns for
 * the bound token, never from the call's path or a label.
 *
 * <p>What a caller can make it cost. A token that is not a JWT for the gate's audience, bound to a
 * pod and not yet expired is refused without asking the API server. A review's answer is
 * remembered by the token's SHA-256 (an accepted one until the token expires or for
 * {@link #ACCEPTED_FOR}, a refused one for {@link #REFUSED_FOR}), and concurrent calls with one
 * token share one review. At most {@code max-reviews} reviews run at once; each caller address (a
 * pod IP) may have {@code max-reviews-per-caller} waiting or running, all callers
 * {@code max-pending-reviews}; beyond that, and for {@link #BARRED_FOR} after one of its tokens was
 * refused, a caller gets 429 at once. A flood of made-up tokens from one pod thus costs the API
 * server a few reviews a second; the refused caller's helper holds its pod for the whole hold.
 */
@ApplicationScoped
public class PodTokens {

    private static final Logger LOG = Logger.getLogger(PodTokens.class);
    private static final ObjectMapper JSON = new ObjectMapper();

    /** Longer than any ServiceAccount token a kubelet mounts (a few KiB), short enough to parse at once. */
    static final int MAX_TOKEN_CHARS = 16 * 1024;
    static final Duration ACCEPTED_FOR = Duration.ofMinutes(5);
    static final Duration REFUSED_FOR = Duration.ofMinutes(1);
    static final Duration BARRED_FOR = Duration.ofSeconds(1);
    static final String POD_NAME = "authentication.kubernetes.io/pod-name";
    static final String POD_UID = "authentication.kubernetes.io/pod-uid";
    private static final String SA_PREFIX = "system:serviceaccount:";

    /** The pod a token was issued for, as the API server says. */
    public record Identity(String namespace, String serviceAccount, String pod, String uid) {
    }

    /**
     * What a token proves: {@code who} when accepted, else the status to answer (401 refused, 429
     * try again later, 503 cannot be checked now) with a text in our words.
     */
    public record Verdict(Identity who, int status, String text) {
        static Verdict accepted(Identity who) {
            return new Verdict(who, 200, "");
        }

        static Verdict refused(String why) {
            return new Verdict(null, 401, why);
        }

        public boolean accepted() {
            return who != null;
        }
    }

    private record Remembered(Verdict verdict, Instant until) {
    }

    private final Function<TokenReview, TokenReview> api;
    private final InstantSource clock;
    private final int maxPerCaller;
    private final int maxPending;
    private final int cacheSize;
    private final ThreadPoolExecutor reviewers;

    private final Map<String, Remembered> remembered = new ConcurrentHashMap<>();
    private final Map<String, CompletableFuture<Verdict>> running = new ConcurrentHashMap<>();
    private final Map<String, AtomicInteger> perCaller = new ConcurrentHashMap<>();
    private final Map<String, Instant> barred = new ConcurrentHashMap<>();
    private final AtomicInteger pending = new AtomicInteger();

    @Inject
    public PodTokens(KubernetesClient client, GateConfig config) {
        this(review -> client.authentication().v1().tokenReviews().create(review), InstantSource.system(),
                config.auth().maxReviews(), config.auth().maxReviewsPerCaller(), config.auth().maxPendingReviews(),
                config.auth().reviewCacheSize());
    }

    PodTokens(Function<TokenReview, TokenReview> api, InstantSource clock, int maxReviews, int maxPerCaller,
            int maxPending, int cacheSize) {
        this.api = api;
        this.clock = clock;
        this.maxPerCaller = maxPerCaller;
        this.maxPending = maxPending;
        this.cacheSize = cacheSize;
        // The queue never fills: pending (running + queued) is bounded by maxPending before a task is submitted.
        this.reviewers = new ThreadPoolExecutor(maxReviews, maxReviews, 30, TimeUnit.SECONDS,
                new ArrayBlockingQueue<>(Math.max(1, maxPending)), r -> {
                    Thread t = new Thread(r, "zdt-token-review");
                    t.setDaemon(true);
                    return t;
                });
        this.reviewers.allowCoreThreadTimeOut(true);
    }

    /** Whether the bearer value is shaped like a JWT (three base64url parts) and may be a pod's token. */
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

    /**
     * The pod that {@code token} was issued for. Never fails; completes on a review thread or at once.
     *
     * @param caller the caller's address, for the per-caller bound
     */
    public CompletionStage<Verdict> review(String token, String caller) {
        Instant now = clock.instant();
        String key = sha256(token);
        Remembered r = remembered.get(key);
        if (r != null && r.until().isAfter(now)) {
            return CompletableFuture.completedFuture(r.verdict());
        }
        CompletableFuture<Verdict> same = running.get(key);
        if (same != null) {
            return same;
        }
        JsonNode claims = claims(token);
        Optional<String> junk = precheck(claims, now);
        if (junk.isPresent()) {
            // Not worth a review: refused here, and the caller barred as for a refused review.
            Verdict v = Verdict.refused(junk.get());
            remember(key, v, now.plus(REFUSED_FOR), now);
            bar(caller, now);
            return CompletableFuture.completedFuture(v);
        }
        Instant until = barred.get(caller);
        if (until != null && until.isAfter(now)) {
            return CompletableFuture.completedFuture(new Verdict(null, 429, "a token from " + caller
                    + " was refused a moment ago; the gate reviews its next one after " + BARRED_FOR.toMillis() + " ms"));
        }
        AtomicInteger mine = perCaller.computeIfAbsent(caller, k -> new AtomicInteger());
        if (mine.incrementAndGet() > maxPerCaller) {
            release(caller, mine, false);
            return CompletableFuture.completedFuture(new Verdict(null, 429, maxPerCaller
                    + " tokens from " + caller + " are being reviewed already (zdt.gate.auth.max-reviews-per-caller)"));
        }
        if (pending.incrementAndGet() > maxPending) {
            release(caller, mine, true);
            return CompletableFuture.completedFuture(new Verdict(null, 429, "the gate is reviewing as many tokens "
                    + "as it may (zdt.gate.auth.max-pending-reviews=" + maxPending + ")"));
        }
        CompletableFuture<Verdict> mineFuture = new CompletableFuture<>();
        CompletableFuture<Verdict> other = running.putIfAbsent(key, mineFuture);
        if (other != null) {
            release(caller, mine, true);
            return other;
        }
        try {
            reviewers.execute(() -> {
                Verdict v = ask(token);
                Instant done = clock.instant();
                if (v.accepted()) {
                    // exp was checked by precheck: a number in the future.
                    remember(key, v, min(Instant.ofEpochSecond(claims.get("exp").asLong()), done.plus(ACCEPTED_FOR)), done);
                } else if (v.status() == 401) {
                    remember(key, v, done.plus(REFUSED_FOR), done);
                    bar(caller, done);
                }
                running.remove(key);
                release(caller, mine, true);
                mineFuture.complete(v);
            });
        } catch (RejectedExecutionException e) {
            running.remove(key);
            release(caller, mine, true);
            mineFuture.complete(new Verdict(null, 503, "the operator is shutting down; the token was not reviewed"));
        }
        return mineFuture;
    }

    /** Tokens whose review is remembered now (for tests and the bound). */
    int rememberedCount() {
        return remembered.size();
    }

    private Verdict ask(String token) {
        TokenReview sent = new TokenReviewBuilder().withNewSpec().withToken(token).withAudiences(PodIdentity.AUDIENCE)
                .endSpec().build();
        TokenReview got;
        try {
            got = api.apply(sent);
        } catch (KubernetesClientException e) {
            String why = e.getCode() == 403
                    ? "the operator may not create TokenReviews (its ClusterRole needs create on tokenreviews.authentication.k8s.io)"
                    : "the API server did not answer the TokenReview (" + (e.getCode() > 0 ? "HTTP " + e.getCode() : "no answer") + ")";
            LOG.warnf("token review: %s: %s", why, e.getMessage());
            return new Verdict(null, 503, why);
        } catch (RuntimeException e) {
            LOG.warnf(e, "token review failed");
            return new Verdict(null, 503, "the TokenReview failed (" + e.getClass().getSimpleName() + ")");
        }
        return judge(got);
    }

    /** What the API server's answer proves. Package-private for the tests. */
    static Verdict judge(TokenReview got) {
        var status = got == null ? null : got.getStatus();
        if (status == null || !Boolean.TRUE.equals(status.getAuthenticated())) {
            return Verdict.refused("the API server did not accept the token"
                    + (status == null || status.getError() == null ? "" : " (" + cut(status.getError()) + ")"));
        }
        if (status.getAudiences() != null && !status.getAudiences().isEmpty()
                && !status.getAudiences().contains(PodIdentity.AUDIENCE)) {
            return Verdict.refused("the token is not for the audience " + PodIdentity.AUDIENCE);
        }
        UserInfo user = status.getUser();
        String name = user == null ? null : user.getUsername();
        if (name == null || !name.startsWith(SA_PREFIX) || name.substring(SA_PREFIX.length()).indexOf(':') < 1) {
            return Verdict.refused("the token is not a ServiceAccount's");
        }
        String[] nsAndSa = name.substring(SA_PREFIX.length()).split(":", 2);
        String pod = single(user.getExtra(), POD_NAME);
        String uid = single(user.getExtra(), POD_UID);
        if (pod == null || uid == null) {
            return Verdict.refused("the token is not bound to a pod (the drain gate accepts the pod's projected token "
                    + "from the volume " + PodIdentity.VOLUME + ", not a ServiceAccount's long-lived one)");
        }
        return Verdict.accepted(new Identity(nsAndSa[0], nsAndSa[1], pod, uid));
    }

    /**
     * Why the token is not worth a review, from its unverified claims: they cannot make a token
     * pass (the review decides), only spare the API server tokens that cannot.
     */
    static Optional<String> precheck(JsonNode claims, Instant now) {
        if (claims == null) {
            return Optional.of("the token is not a JWT");
        }
        JsonNode aud = claims.get("aud");
        boolean ours = aud != null && (aud.isTextual() ? PodIdentity.AUDIENCE.equals(aud.asText())
                : aud.isArray() && java.util.stream.StreamSupport.stream(aud.spliterator(), false)
                        .anyMatch(a -> PodIdentity.AUDIENCE.equals(a.asText())));
        if (!ours) {
            return Optional.of("the token is not for the audience " + PodIdentity.AUDIENCE);
        }
        JsonNode exp = claims.get("exp");
        if (exp == null || !exp.canConvertToLong() || Instant.ofEpochSecond(exp.asLong()).isBefore(now)) {
            return Optional.of("the token has expired");
        }
        if (claims.path("kubernetes.io").path("pod").path("uid").asText("").isEmpty()) {
            return Optional.of("the token is not bound to a pod");
        }
        return Optional.empty();
    }

    private static JsonNode claims(String token) {
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

    private void remember(String key, Verdict v, Instant until, Instant now) {
        if (remembered.size() >= cacheSize) {
            remembered.values().removeIf(r -> !r.until().isAfter(now));
            if (remembered.size() >= cacheSize) {
                return; // full of live entries: review again next time rather than grow
            }
        }
        remembered.put(key, new Remembered(v, until));
    }

    private void bar(String caller, Instant now) {
        if (barred.size() >= cacheSize) {
            barred.values().removeIf(t -> !t.isAfter(now));
        }
        if (barred.size() < cacheSize) {
            barred.put(caller, now.plus(BARRED_FOR));
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

    private static String single(Map<String, List<String>> extra, String key) {
        List<String> v = extra == null ? null : extra.get(key);
        return v == null || v.size() != 1 || v.get(0).isEmpty() ? null : v.get(0);
    }

    private static Instant min(Instant a, Instant b) {
        return a.isBefore(b) ? a : b;
    }

    private static String cut(String s) {
        return s.length() <= 200 ? s : s.substring(0, 200) + "...";
    }

    static String sha256(String token) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(token.getBytes(StandardCharsets.UTF_8)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    @PreDestroy
    void stop() {
        reviewers.shutdownNow();
    }
}
