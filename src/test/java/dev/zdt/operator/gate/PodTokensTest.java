package dev.zdt.operator.gate;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.InstantSource;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;

import org.junit.jupiter.api.Test;

import io.fabric8.kubernetes.api.model.authentication.TokenReview;
import io.fabric8.kubernetes.api.model.authentication.TokenReviewBuilder;
import io.fabric8.kubernetes.client.KubernetesClientException;
import dev.zdt.operator.pod.PodIdentity;

/**
 * What {@link PodTokens} makes of the API server's answers, and what a caller can make it cost:
 * the review itself is a real API server's in {@link PodIdentityTest}; here the answers are
 * written by hand so that the bounds can be reached exactly.
 */
class PodTokensTest {

    private static final long IN_TEN_MINUTES = Instant.now().getEpochSecond() + 600;

    static String jwt(String claims) {
        Base64.Encoder b = Base64.getUrlEncoder().withoutPadding();
        return b.encodeToString("{\"alg\":\"RS256\"}".getBytes()) + "." + b.encodeToString(claims.getBytes(StandardCharsets.UTF_8))
                + "." + b.encodeToString("sig".getBytes());
    }

    static String podToken(String uid) {
        return jwt("{\"aud\":[\"" + PodIdentity.AUDIENCE + "\"],\"exp\":" + IN_TEN_MINUTES
                + ",\"kubernetes.io\":{\"namespace\":\"shop\",\"pod\":{\"name\":\"shop-a\",\"uid\":\"" + uid + "\"}}}");
    }

    static TokenReview accepted(String pod, String uid) {
        return new TokenReviewBuilder().withNewStatus().withAuthenticated(true).withAudiences(PodIdentity.AUDIENCE)
                .withNewUser().withUsername("system:serviceaccount:shop:default")
                .withExtra(Map.of(PodTokens.POD_NAME, List.of(pod), PodTokens.POD_UID, List.of(uid))).endUser()
                .endStatus().build();
    }

    static TokenReview refused() {
        return new TokenReviewBuilder().withNewStatus().withAuthenticated(false).withError("invalid signature").endStatus()
                .build();
    }

    @Test
    void theIdentityComesFromTheReviewAndOnlyABoundPodTokenIsAccepted() {
        PodTokens.Verdict ok = PodTokens.judge(accepted("shop-a", "u1"));
        assertThat(ok.accepted()).isTrue();
        assertThat(ok.who()).isEqualTo(new PodTokens.Identity("shop", "default", "shop-a", "u1"));

        assertThat(PodTokens.judge(refused()).status()).isEqualTo(401);
        assertThat(PodTokens.judge(refused()).text()).contains("invalid signature");
        assertThat(PodTokens.judge(null).status()).isEqualTo(401);
        // A long-lived ServiceAccount token (no pod in it), a user's token, another audience: refused.
        TokenReview unbound = new TokenReviewBuilder(accepted("x", "y")).editStatus().editUser().withExtra(Map.of())
                .endUser().endStatus().build();
        assertThat(PodTokens.judge(unbound).text()).contains("not bound to a pod");
        TokenReview user = new TokenReviewBuilder(accepted("x", "y")).editStatus().editUser().withUsername("alice")
                .endUser().endStatus().build();
        assertThat(PodTokens.judge(user).status()).isEqualTo(401);
        TokenReview otherAudience = new TokenReviewBuilder(accepted("x", "y")).editStatus().withAudiences("api")
                .endStatus().build();
        assertThat(PodTokens.judge(otherAudience).status()).isEqualTo(401);
        TokenReview twoPods = new TokenReviewBuilder(accepted("x", "y")).editStatus().editUser()
                .withExtra(Map.of(PodTokens.POD_NAME, List.of("a", "b"), PodTokens.POD_UID, List.of("u"))).endUser()
                .endStatus().build();
        assertThat(PodTokens.judge(twoPods).status()).isEqualTo(401);
    }

    @Test
    void tokensThatCannotPassAreRefusedWithoutAReview() throws Exception {
        AtomicInteger reviews = new AtomicInteger();
        PodTokens tokens = new PodTokens(r -> {
            reviews.incrementAndGet();
            return accepted("shop-a", "u");
        }, InstantSource.system(), 2, 100, 100, 100);
        Instant now = Instant.now();
        String[] junk = { "a.b", "not a jwt", "a.!!!.c", jwt("[1,2]"),
                jwt("{\"aud\":\"https://kubernetes.default.svc\",\"exp\":" + IN_TEN_MINUTES + "}"),
                jwt("{\"aud\":\"" + PodIdentity.AUDIENCE + "\",\"exp\":" + (now.getEpochSecond() - 1)
                        + ",\"kubernetes.io\":{\"pod\":{\"uid\":\"u\"}}}"),
                jwt("{\"aud\":\"" + PodIdentity.AUDIENCE + "\",\"exp\":" + IN_TEN_MINUTES + "}"),
                "x".repeat(PodTokens.MAX_TOKEN_CHARS + 1) };
        for (int i = 0; i < junk.length; i++) {
            PodTokens.Verdict v = tokens.review(junk[i], "10.0.0." + i).toCompletableFuture().get(5, TimeUnit.SECONDS);
            assertThat(v.status()).as(junk[i]).isEqualTo(401);
        }
        assertThat(reviews).hasValue(0);
        assertThat(tokens.review(podToken("u"), "10.0.1.1").toCompletableFuture().get(5, TimeUnit.SECONDS).accepted()).isTrue();
        assertThat(reviews).hasValue(1);
    }

    @Test
    void oneTokenIsReviewedOnceAndRemembered() throws Exception {
        AtomicInteger reviews = new AtomicInteger();
        CountDownLatch answer = new CountDownLatch(1);
        PodTokens tokens = new PodTokens(r -> {
            reviews.incrementAndGet();
            await(answer);
            return accepted("shop-a", "u");
        }, InstantSource.system(), 2, 4, 100, 100);
        String t = podToken("u");
        List<CompletableFuture<PodTokens.Verdict>> same = new ArrayList<>();
        for (int i = 0; i < 50; i++) {
            // From many callers at once: they share the one review, and no caller's bound is reached.
            same.add(tokens.review(t, "10.0.0." + (i % 5)).toCompletableFuture());
        }
        answer.countDown();
        for (CompletableFuture<PodTokens.Verdict> v : same) {
            assertThat(v.get(5, TimeUnit.SECONDS).accepted()).isTrue();
        }
        assertThat(tokens.review(t, "10.0.0.9").toCompletableFuture().get(5, TimeUnit.SECONDS).accepted()).isTrue();
        assertThat(reviews).hasValue(1);
    }

    @Test
    void aCallerGetsAFewReviewsAtOnceAndNoneForAMomentAfterARefusal() throws Exception {
        CountDownLatch answer = new CountDownLatch(1);
        AtomicInteger reviews = new AtomicInteger();
        PodTokens tokens = new PodTokens(r -> {
            reviews.incrementAndGet();
            await(answer);
            return refused();
        }, InstantSource.system(), 2, 3, 5, 100);
        List<CompletableFuture<PodTokens.Verdict>> flood = new ArrayList<>();
        for (int i = 0; i < 20; i++) {
            flood.add(tokens.review(podToken("flood-" + i), "10.0.0.66").toCompletableFuture());
        }
        // Three are under review (the caller's bound); the other 17 were answered 429 at once.
        assertThat(flood.stream().filter(CompletableFuture::isDone).count()).isEqualTo(17);
        assertThat(flood.stream().filter(CompletableFuture::isDone).map(CompletableFuture::join))
                .allSatisfy(v -> assertThat(v.status()).isEqualTo(429));
        // Other callers share what is left of max-pending (5): two more, then 429.
        CompletableFuture<PodTokens.Verdict> b1 = tokens.review(podToken("b1"), "10.0.0.67").toCompletableFuture();
        CompletableFuture<PodTokens.Verdict> b2 = tokens.review(podToken("b2"), "10.0.0.68").toCompletableFuture();
        PodTokens.Verdict full = tokens.review(podToken("b3"), "10.0.0.69").toCompletableFuture().get(1, TimeUnit.SECONDS);
        assertThat(full.status()).isEqualTo(429);
        assertThat(full.text()).contains("max-pending-reviews");
        answer.countDown();
        for (CompletableFuture<PodTokens.Verdict> v : List.of(b1, b2)) {
            assertThat(v.get(5, TimeUnit.SECONDS).status()).isEqualTo(401);
        }
        // The flooding caller was refused: its next token waits (429) without a review.
        flood.get(0).get(5, TimeUnit.SECONDS);
        int before = reviews.get();
        PodTokens.Verdict barred = tokens.review(podToken("next"), "10.0.0.66").toCompletableFuture().get(1, TimeUnit.SECONDS);
        assertThat(barred.status()).isEqualTo(429);
        assertThat(reviews).hasValue(before);
        assertThat(reviews.get()).isLessThanOrEqualTo(5);
    }

    @Test
    void aReviewThatCannotBeMadeIs503AndNotRemembered() throws Exception {
        AtomicInteger calls = new AtomicInteger();
        Function<TokenReview, TokenReview> forbidden = r -> {
            calls.incrementAndGet();
            throw new KubernetesClientException("tokenreviews.authentication.k8s.io is forbidden", 403, null);
        };
        PodTokens tokens = new PodTokens(forbidden, InstantSource.system(), 1, 4, 10, 10);
        PodTokens.Verdict v = tokens.review(podToken("u"), "10.0.0.1").toCompletableFuture().get(5, TimeUnit.SECONDS);
        assertThat(v.status()).isEqualTo(503);
        assertThat(v.text()).contains("may not create TokenReviews");
        tokens.review(podToken("u"), "10.0.0.1").toCompletableFuture().get(5, TimeUnit.SECONDS);
        assertThat(calls).as("a failure is asked again, not remembered as a refusal").hasValue(2);
    }

    @Test
    void theMemoryOfAnswersIsBounded() throws Exception {
        PodTokens tokens = new PodTokens(r -> accepted("shop-a", "u"), InstantSource.system(), 2, 1000, 1000, 10);
        for (int i = 0; i < 50; i++) {
            tokens.review(podToken("u" + i), "10.1.0." + i).toCompletableFuture().get(5, TimeUnit.SECONDS);
        }
        assertThat(tokens.rememberedCount()).isLessThanOrEqualTo(10);
    }

    private static void await(CountDownLatch latch) {
        try {
            latch.await(10, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
