package dev.zdt.operator.gate;

import java.time.Duration;
import java.time.Instant;
import java.time.InstantSource;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletionStage;
import java.util.function.Function;

import jakarta.annotation.PreDestroy;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;

import org.jboss.logging.Logger;

import com.fasterxml.jackson.databind.JsonNode;

import io.fabric8.kubernetes.api.model.authentication.TokenReview;
import io.fabric8.kubernetes.api.model.authentication.TokenReviewBuilder;
import io.fabric8.kubernetes.api.model.authentication.UserInfo;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import dev.zdt.operator.kube.BoundedReviews;
import dev.zdt.operator.pod.PodIdentity;
import dev.zdt.operator.GateConfig;

/**
 * Checks a pod's projected ServiceAccount token ({@link PodIdentity}) with a TokenReview and says
 * which pod sent it: namespace, pod name and pod uid come from what the API server returns for
 * the bound token, never from the call's path or a label.
 *
 * <p>What a caller can make it cost is bounded by {@link BoundedReviews}: a token that is not a JWT
 * for the gate's audience, bound to a pod and not yet expired is refused without asking the API
 * server; an answer is remembered by the token's SHA-256 (an accepted one until the token expires or
 * for {@link #ACCEPTED_FOR}, a refused one for {@link #REFUSED_FOR}); one review per token;
 * {@code max-reviews} at once, {@code max-reviews-per-caller} per caller address (a pod IP),
 * {@code max-pending-reviews} in all, and none for {@link #BARRED_FOR} after a caller's token was
 * refused; beyond, 429 at once. A flood of made-up tokens from one pod thus costs the API server a
 * few reviews a second; the refused caller's helper holds its pod for the whole hold.
 */
@ApplicationScoped
public class PodTokens {

    private static final Logger LOG = Logger.getLogger(PodTokens.class);

    static final int MAX_TOKEN_CHARS = BoundedReviews.MAX_TOKEN_CHARS;
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
    public record Verdict(Identity who, int status, String text) implements BoundedReviews.Outcome {
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

    private final BoundedReviews<Verdict> reviews;

    @Inject
    public PodTokens(KubernetesClient client, GateConfig config) {
        this(review -> client.authentication().v1().tokenReviews().create(review), InstantSource.system(),
                config.auth().maxReviews(), config.auth().maxReviewsPerCaller(), config.auth().maxPendingReviews(),
                config.auth().reviewCacheSize());
    }

    PodTokens(Function<TokenReview, TokenReview> api, InstantSource clock, int maxReviews, int maxPerCaller,
            int maxPending, int cacheSize) {
        this.reviews = new BoundedReviews<>(new BoundedReviews.Reviewer<>() {
            @Override
            public BoundedReviews.Precheck precheck(String token, Instant now) {
                JsonNode claims = BoundedReviews.claims(token);
                Optional<String> junk = PodTokens.precheck(claims, now);
                // exp was checked by precheck: a number in the future.
                return junk.isPresent() ? BoundedReviews.Precheck.junk(junk.get())
                        : BoundedReviews.Precheck.worthAReview(Instant.ofEpochSecond(claims.get("exp").asLong()));
            }

            @Override
            public Verdict ask(String token) {
                return PodTokens.ask(api, token);
            }

            @Override
            public Verdict refusal(int status, String text) {
                return new Verdict(null, status, text);
            }
        }, clock, new BoundedReviews.Bounds(maxReviews, maxPerCaller, maxPending, cacheSize, ACCEPTED_FOR, REFUSED_FOR,
                BARRED_FOR, "zdt.gate.auth"), "zdt-token-review");
    }

    /** Whether the bearer value is shaped like a JWT (three base64url parts) and may be a pod's token. */
    public static boolean isJwt(String token) {
        return BoundedReviews.isJwt(token);
    }

    /**
     * The pod that {@code token} was issued for. Never fails; completes on a review thread or at once.
     *
     * @param caller the caller's address, for the per-caller bound
     */
    public CompletionStage<Verdict> review(String token, String caller) {
        return reviews.review(token, caller);
    }

    /** Tokens whose review is remembered now (for tests and the bound). */
    int rememberedCount() {
        return reviews.rememberedCount();
    }

    private static Verdict ask(Function<TokenReview, TokenReview> api, String token) {
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
                    + (status == null || status.getError() == null ? "" : " (" + BoundedReviews.cut(status.getError()) + ")"));
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

    private static String single(Map<String, List<String>> extra, String key) {
        List<String> v = extra == null ? null : extra.get(key);
        return v == null || v.size() != 1 || v.get(0).isEmpty() ? null : v.get(0);
    }

    @PreDestroy
    void stop() {
        reviews.stop();
    }
}
