package dev.zdt.operator.ingress;

import java.time.Duration;
import java.util.List;
import java.util.Optional;

import io.smallrye.config.ConfigMapping;
import io.smallrye.config.WithDefault;

/** What the cluster admin lets apps name as their ingress controller, and how it is asked. */
@ConfigMapping(prefix = "zdt.ingress")
public interface IngressConfig {

    /**
     * The {@code traffic.apiUrl} values an app may use (exact base URLs, a trailing slash ignored).
     * Unset: no app may name a URL; apps name the controller's Service ({@code traffic.controller}).
     */
    Optional<List<String>> allowedApiUrls();

    /** Namespaces an app's {@code traffic.controller} may name. Unset: any namespace. */
    Optional<List<String>> controllerNamespaces();

    /** Time limit of one request to one replica's API, connection included. */
    @WithDefault("2s")
    Duration requestTimeout();

    /** Largest response body read from a replica's API, per page; a larger one makes the replica's answer unknown. */
    @WithDefault("8388608")
    int maxResponseBytes();
}
