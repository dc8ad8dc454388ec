package dev.zdt.operator.metrics;

import io.smallrye.config.ConfigMapping;
import io.smallrye.config.WithDefault;

/** Who may read /q/metrics on the management port (see {@link MetricsAuth}). */
@ConfigMapping(prefix = "zdt.metrics")
public interface MetricsConfig {

    Auth auth();

    /** Scrapers prove who they are with a bearer token; the API server says whether they may read the metrics. */
    interface Auth {

        /**
         * Whether a scrape needs a token whose user may {@code get} the non-resource URL /q/metrics.
         * false: the metrics are open to anyone who reaches the management port, which then only a
         * NetworkPolicy can close (they name the namespaces, apps and pods the operator drains).
         */
        @WithDefault("true")
        boolean enabled();

        /** Reviews (a TokenReview, then a SubjectAccessReview) this replica sends at once. */
        @WithDefault("2")
        int maxReviews();

        /** Reviews waiting or running for one caller address at once; more are answered 429 at once. */
        @WithDefault("2")
        int maxReviewsPerCaller();

        /** Reviews waiting or running at once, all callers together; more are answered 429 at once. */
        @WithDefault("16")
        int maxPendingReviews();

        /** Tokens whose answer is remembered (allowed for a minute, refused for 10 seconds). */
        @WithDefault("1000")
        int reviewCacheSize();
    }
}
