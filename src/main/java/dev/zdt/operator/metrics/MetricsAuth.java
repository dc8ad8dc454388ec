package dev.zdt.operator.metrics;

import java.time.Duration;
import java.time.Instant;
import java.time.InstantSource;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import jakarta.annotation.PreDestroy;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;

import org.jboss.logging.Logger;

import com.fasterxml.jackson.databind.JsonNode;

import dev.zdt.operator.kube.BoundedReviews;
import io.fabric8.kubernetes.api.model.authentication.TokenReview;
import io.fabric8.kubernetes.api.model.authentication.TokenReviewBuilder;
import io.fabric8.kubernetes.api.model.authentication.UserInfo;
import io.fabric8.kubernetes.api.model.authorization.v1.SubjectAccessReview;
import io.fabric8.kubernetes.api.model.authorization.v1.SubjectAccessReviewBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.quarkus.vertx.http.ManagementInterface;
import io.vertx.core.Context;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpMethod;
import io.vertx.ext.web.RoutingContext;

/**
 * /q/metrics only for who may read it, as the API server decides: a scrape carries
 * {@code Authorization: Bearer <token>}; the token is sent to the API server as a TokenReview (the
 * API server's own audiences), and the user it names, with its groups, uid and extra, as a
 * SubjectAccessReview for {@code get} on the non-resource URL {@value #PATH}. No or a malformed
 * header, or a token the API server does not accept: 401; a user without that permission: 403;
 * the API server cannot be asked: 503; more reviews than {@link BoundedReviews} allows: 429.
 *
 * <p>Installed first on the management interface's router, for every path but health's: the kubelet
 * probes {@value #HEALTH} without credentials, and anything else the management port may serve one
 * day is closed until it is allowed here.
 */
@ApplicationScoped
public class MetricsAuth {

    private static final Logger LOG = Logger.getLogger(MetricsAuth.class);

    /** The non-resource URL a scraper must be allowed to get (the chart's ClusterRole {@code <release>-metrics-reader}). */
    static final String PATH = "/q/metrics";
    static final String HEALTH = "/q/health";
    static final Duration ALLOWED_FOR = Duration.ofMinutes(1);
    static final Duration REFUSED_FOR = Duration.ofSeconds(10);
    static final Duration BARRED_FOR = Duration.ofSeconds(1);

    /** What a scraper's token proves: 200 with the user allowed, else the status and text to answer. */
    record Verdict(String user, int status, String text) implements BoundedReviews.Outcome {
    }

    private final KubernetesClient client;
    private final MetricsConfig config;
    private final BoundedReviews<Verdict> reviews;
    private final Map<Integer, Counter> refused = new HashMap<>();

    public MetricsAuth(KubernetesClient client, MetricsConfig config, MeterRegistry registry) {
        this.client = client;
        this.config = config;
        MetricsConfig.Auth auth = config.auth();
        this.reviews = new BoundedReviews<>(new Scrapers(), InstantSource.system(),
                new BoundedReviews.Bounds(auth.maxReviews(), auth.maxReviewsPerCaller(), auth.maxPendingReviews(),
                        auth.reviewCacheSize(), ALLOWED_FOR, REFUSED_FOR, BARRED_FOR, "zdt.metrics.auth"),
                "zdt-metrics-review");
        // Registered up front, so that every reason shows (as zero) before the first refusal.
        for (Map.Entry<Integer, String> e : Map.of(401, "unauthenticated", 403, "forbidden", 405, "method",
                429, "limited", 503, "unavailable").entrySet()) {
            refused.put(e.getKey(), Counter.builder("zdt.metrics.requests.refused")
                    .description("Requests to the management port (other than health) refused, by why: unauthenticated "
                            + "(no, a malformed or an unaccepted token, 401), forbidden (the user may not get /q/metrics, "
                            + "403), method (not GET or HEAD, 405), limited (too many reviews, 429), unavailable (the "
                            + "API server could not be asked, 503)")
                    .tag("reason", e.getValue())
                    .register(registry));
        }
    }

    /** Puts the check in front of every route of the management interface but health's. */
    void install(@Observes ManagementInterface management) {
        if (!config.auth().enabled()) {
            LOG.warn("zdt.metrics.auth.enabled=false: /q/metrics answers anyone who reaches the management port");
            return;
        }
        management.router().route().order(Integer.MIN_VALUE).handler(this::check);
    }

    private void check(RoutingContext ctx) {
        String path = ctx.normalizedPath();
        if (path.equals(HEALTH) || path.startsWith(HEALTH + "/")) {
            ctx.next();
            return;
        }
        HttpMethod method = ctx.request().method();
        if (method != HttpMethod.GET && method != HttpMethod.HEAD) {
            refuse(ctx, 405, "only GET and HEAD are served here");
            return;
        }
        List<String> headers = ctx.request().headers().getAll("Authorization");
        String token = headers.size() == 1 ? BoundedReviews.bearer(headers.get(0)) : null;
        if (token == null) {
            refuse(ctx, 401, headers.size() > 1 ? "more than one Authorization header"
                    : "no bearer token: send Authorization: Bearer <token> of a user allowed to get " + PATH);
            return;
        }
        String caller = ctx.request().remoteAddress() == null ? "unknown" : ctx.request().remoteAddress().hostAddress();
        Context context = Vertx.currentContext();
        reviews.review(token, caller).whenComplete((v, failure) -> context.runOnContext(ignored -> {
            if (ctx.response().closed() || ctx.response().ended()) {
                return;
            }
            if (v != null && v.status() == 200) {
                ctx.next();
            } else {
                refuse(ctx, v == null ? 503 : v.status(), v == null ? "the token could not be reviewed" : v.text());
            }
        }));
    }

    /** What a token is worth here, as {@link #check} asks it: for the tests. */
    java.util.concurrent.CompletionStage<Verdict> review(String token, String caller) {
        return reviews.review(token, caller);
    }

    private void refuse(RoutingContext ctx, int status, String text) {
        Counter c = refused.get(status);
        if (c != null) {
            c.increment();
        }
        // Closed after the answer: a refused caller does not keep the connection, nor send a body on it.
        var response = ctx.response().setStatusCode(status).putHeader("Content-Type", "text/plain; charset=utf-8")
                .putHeader("Connection", "close");
        if (status == 401) {
            response.putHeader("WWW-Authenticate", "Bearer realm=\"zdt-operator\"");
        } else if (status == 405) {
            response.putHeader("Allow", "GET, HEAD");
        } else if (status == 429 || status == 503) {
            response.putHeader("Retry-After", "1");
        }
        response.end(text + "\n");
    }

    /** The scrapers' side of the review: what a token must look like, and what the API server says of it. */
    private final class Scrapers implements BoundedReviews.Reviewer<Verdict> {

        @Override
        public BoundedReviews.Precheck precheck(String token, Instant now) {
            if (!isB64Token(token)) {
                return BoundedReviews.Precheck.junk("the bearer token is not a token (RFC 6750's b64token, at most "
                        + BoundedReviews.MAX_TOKEN_CHARS + " characters)");
            }
            // A JWT (ServiceAccount and OIDC tokens are) says when it expires; other tokens are the API server's to judge.
            JsonNode exp = BoundedReviews.isJwt(token) ? BoundedReviews.claims(token) : null;
            exp = exp == null ? null : exp.get("exp");
            if (exp != null && exp.canConvertToLong()) {
                Instant expires = Instant.ofEpochSecond(exp.asLong());
                return expires.isBefore(now) ? BoundedReviews.Precheck.junk("the token has expired")
                        : BoundedReviews.Precheck.worthAReview(expires);
            }
            return BoundedReviews.Precheck.worthAReview(null);
        }

        @Override
        public Verdict ask(String token) {
            String step = "TokenReview";
            try {
                // No audiences: the API server's own, those of the tokens it accepts for itself.
                TokenReview review = client.authentication().v1().tokenReviews()
                        .create(new TokenReviewBuilder().withNewSpec().withToken(token).endSpec().build());
                var status = review == null ? null : review.getStatus();
                if (status == null || !Boolean.TRUE.equals(status.getAuthenticated()) || status.getUser() == null) {
                    return refusal(401, "the API server did not accept the token"
                            + (status == null || status.getError() == null ? ""
                                    : " (" + BoundedReviews.cut(status.getError()) + ")"));
                }
                UserInfo user = status.getUser();
                step = "SubjectAccessReview";
                SubjectAccessReview access = client.authorization().v1().subjectAccessReview()
                        .create(new SubjectAccessReviewBuilder().withNewSpec().withUser(user.getUsername())
                                .withGroups(user.getGroups()).withUid(user.getUid()).withExtra(user.getExtra())
                                .withNewNonResourceAttributes().withPath(PATH).withVerb("get").endNonResourceAttributes()
                                .endSpec().build());
                if (access != null && access.getStatus() != null && Boolean.TRUE.equals(access.getStatus().getAllowed())) {
                    return new Verdict(user.getUsername(), 200, "");
                }
                String reason = access == null || access.getStatus() == null ? null : access.getStatus().getReason();
                return refusal(403, user.getUsername() + " may not get " + PATH
                        + (reason == null || reason.isEmpty() ? "" : " (" + BoundedReviews.cut(reason) + ")")
                        + "; a ClusterRole that allows it is the chart's <release>-metrics-reader");
            } catch (KubernetesClientException e) {
                String why = e.getCode() == 403 ? "the operator may not create " + step + "s (its ClusterRole needs create on "
                        + (step.equals("TokenReview") ? "tokenreviews.authentication.k8s.io"
                                : "subjectaccessreviews.authorization.k8s.io") + ")"
                        : "the API server did not answer the " + step + " ("
                                + (e.getCode() > 0 ? "HTTP " + e.getCode() : "no answer") + ")";
                LOG.warnf("metrics scrape: %s: %s", why, e.getMessage());
                return refusal(503, why);
            } catch (RuntimeException e) {
                LOG.warnf(e, "metrics scrape: the %s failed", step);
                return refusal(503, "the " + step + " failed (" + e.getClass().getSimpleName() + ")");
            }
        }

        @Override
        public Verdict refusal(int status, String text) {
            return new Verdict(null, status, text);
        }
    }

    /** RFC 6750's b64token: letters, digits and {@code -._~+/}, then any '='; within the length a token may have. */
    static boolean isB64Token(String token) {
        if (token == null || token.isEmpty() || token.length() > BoundedReviews.MAX_TOKEN_CHARS) {
            return false;
        }
        int i = 0;
        for (; i < token.length(); i++) {
            char c = token.charAt(i);
            if (!(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || "-._~+/".indexOf(c) >= 0)) {
                break;
            }
        }
        if (i == 0) {
            return false;
        }
        for (; i < token.length(); i++) {
            if (token.charAt(i) != '=') {
                return false;
            }
        }
        return true;
    }

    @PreDestroy
    void stop() {
        reviews.stop();
    }
}
