package dev.zdt.operator;

import java.nio.file.Path;
import java.time.Duration;
import java.util.Optional;

import io.smallrye.config.ConfigMapping;
import io.smallrye.config.WithDefault;

/** Where pods reach the drain gate. */
@ConfigMapping(prefix = "zdt.gate")
public interface GateConfig {

    /** Name of the Service in front of the operator's gate port. */
    @WithDefault("zdt-operator-gate")
    String serviceName();

    /** Namespace of that Service; defaults to the operator's own namespace. */
    Optional<String> namespace();

    /**
     * Fixed address for the preStop httpGet, instead of the Service's ClusterIP. The kubelet sends
     * the hook from the node's network namespace, where ClusterIPs work through kube-proxy.
     */
    Optional<String> host();

    /** Port of the gate Service. */
    @WithDefault("80")
    int port();

    /** Calls held at once for one app; more are answered 429 (a real app rarely drains this many pods). */
    @WithDefault("1000")
    int maxHoldsPerApp();

    /**
     * Calls held at once for the apps of one namespace, together; more are answered 429. Below
     * {@link #maxHolds()}, so that the calls of one namespace never fill the whole gate.
     */
    @WithDefault("1000")
    int maxHoldsPerNamespace();

    /** Calls held at once by this replica, all apps together; more are answered 429. */
    @WithDefault("5000")
    int maxHolds();

    /**
     * How long a call waits for its pod to show as terminating in this replica's informer cache,
     * which may lag behind the kubelet, before it is answered 409. Pods that start terminating within
     * this window after an app-scoped call arrived are also waited for by that call.
     */
    @WithDefault("3s")
    Duration claimWait();

    /** How gate calls are authenticated (see {@link GateKeys}). */
    Auth auth();

    /** Per-app gate tokens: an HMAC of the app's identity under a key the operator holds. */
    interface Auth {

        /**
         * Directory holding the key files: {@code current} (at least 32 bytes), and during a rotation
         * {@code previous}, whose tokens are still accepted. The chart mounts a Secret here. Re-read
         * when the files change.
         */
        Optional<Path> keyDir();

        /**
         * Whether a call must carry a valid token. Only for tests and local development: without it
         * anyone who reaches the gate can hold or refuse drains of any app.
         */
        @WithDefault("true")
        boolean required();

        /** How often the key files are checked for a change (a rotated Secret reaches the pod within a minute or so). */
        @WithDefault("10s")
        Duration reloadInterval();

        /**
         * How long after this replica started an app token is still accepted from a gate- or
         * exec-mode pod (httpGet mode has no other credential and keeps its token): pods rendered
         * before pod identity carry one in their environment and are replaced by the rollout the
         * upgrade starts. After it, such a call is refused and the pod's helper holds it for its
         * whole hold. 0s refuses them at once.
         */
        @WithDefault("24h")
        Duration legacyWindow();

        /** TokenReviews this replica sends at once; a pod's token is reviewed once and then cached. */
        @WithDefault("4")
        int maxReviews();

        /**
         * Reviews waiting or running for one caller address (a pod IP) at once; more are answered
         * 429 at once, so a flood of made-up tokens costs the API server at most this per pod.
         */
        @WithDefault("4")
        int maxReviewsPerCaller();

        /** Reviews waiting or running at once, all callers together; more are answered 429 at once. */
        @WithDefault("256")
        int maxPendingReviews();

        /** Tokens whose review is remembered (accepted until the token expires, or 5 minutes; refused for a minute). */
        @WithDefault("20000")
        int reviewCacheSize();
    }

    /** How often the ingress controller is asked while holds of an app wait for it (one question at a time per app). */
    @WithDefault("500ms")
    Duration ingressPollInterval();
}
