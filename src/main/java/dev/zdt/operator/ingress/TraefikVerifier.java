package dev.zdt.operator.ingress;

import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.HashSet;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.regex.Pattern;

import jakarta.enterprise.context.ApplicationScoped;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import dev.zdt.operator.api.v1alpha1.Provider;
import dev.zdt.operator.api.v1alpha1.ZeroDowntimeApp;

/**
 * Traefik's API: {@code GET /api/http/services} lists every HTTP service with its load balancer's
 * servers. The Kubernetes Ingress provider names a backend {@code <namespace>-<service>-<port>@kubernetes}
 * (port number or name, normalized). It lists the endpoints that are serving; one that is also
 * terminating is listed with {@code "fenced": true} and gets no new request (only sticky sessions),
 * so it counts as no longer routed. A service with no endpoint left is dropped from the list
 * altogether, which also means "no longer routed".
 */
@ApplicationScoped
public class TraefikVerifier implements IngressVerifier {

    static final int PER_PAGE = 100;
    /** Traefik repeats pages past the end as page 1; this bounds a misbehaving API too. */
    static final int MAX_PAGES = 50;
    private static final Pattern NOT_ALNUM = Pattern.compile("[^\\p{L}\\p{N}]+");

    private final HttpClient http;
    private final ObjectMapper json = new ObjectMapper();
    private final Duration timeout;
    private final int perPage;

    public TraefikVerifier() {
        this(Duration.ofSeconds(2), PER_PAGE);
    }

    TraefikVerifier(Duration timeout, int perPage) {
        this.timeout = timeout;
        this.perPage = perPage;
        this.http = HttpClient.newBuilder().connectTimeout(timeout).version(HttpClient.Version.HTTP_1_1).build();
    }

    @Override
    public boolean supports(Provider provider) {
        return provider == Provider.TRAEFIK;
    }

    @Override
    public String name() {
        return "Traefik";
    }

    @Override
    public CompletionStage<IngressObservation> observe(ZeroDowntimeApp app) {
        Instant asked = Instant.now();
        String base = app.getSpec().getTraffic().getApiUrl();
        if (base == null || base.isBlank()) {
            return CompletableFuture.completedFuture(IngressObservation.unknown("traffic.apiUrl is not set", asked));
        }
        String ns = app.getMetadata().getNamespace();
        String svc = app.getMetadata().getName();
        int port = app.getSpec().getService().getPort();
        Set<String> names = Set.of(serviceName(ns, svc, Integer.toString(port)), serviceName(ns, svc, "http"));
        String search = normalize(ns + "-" + svc + "-");
        Set<String> addresses = new HashSet<>();
        return page(stripSlash(base), search, names, 1, addresses, asked)
                .exceptionally(e -> IngressObservation.unknown(
                        "Traefik's API at " + base + " was unreachable: " + describe(e), asked));
    }

    private CompletableFuture<IngressObservation> page(String base, String search, Set<String> names, int page,
            Set<String> addresses, Instant asked) {
        URI uri = URI.create(base + "/api/http/services?search=" + URLEncoder.encode(search, StandardCharsets.UTF_8)
                + "&per_page=" + perPage + "&page=" + page);
        HttpRequest request = HttpRequest.newBuilder(uri).timeout(timeout).GET().build();
        return http.sendAsync(request, HttpResponse.BodyHandlers.ofString()).thenCompose(response -> {
            if (response.statusCode() != 200) {
                return CompletableFuture.completedFuture(IngressObservation.unknown("Traefik's API at " + base
                        + " answered " + response.statusCode() + " to " + uri.getPath(), asked));
            }
            try {
                for (JsonNode service : json.readTree(response.body())) {
                    if (!names.contains(service.path("name").asText())) {
                        continue;
                    }
                    for (JsonNode server : service.path("loadBalancer").path("servers")) {
                        if (server.path("fenced").asBoolean(false)) {
                            continue;
                        }
                        String host = hostOf(server.path("url").asText(null));
                        if (host != null) {
                            addresses.add(host);
                        }
                    }
                }
            } catch (Exception e) {
                return CompletableFuture.completedFuture(IngressObservation.unknown(
                        "Traefik's API at " + base + " sent an unreadable service list: " + describe(e), asked));
            }
            int next = response.headers().firstValue("X-Next-Page").map(TraefikVerifier::intOrZero).orElse(0);
            if (next > page && page < MAX_PAGES) {
                return page(base, search, names, next, addresses, asked);
            }
            return CompletableFuture.completedFuture(IngressObservation.listed(addresses, asked));
        });
    }

    /** The name Traefik's Kubernetes Ingress provider gives a backend. */
    static String serviceName(String namespace, String service, String port) {
        return normalize(namespace + "-" + service + "-" + port) + "@kubernetes";
    }

    static String normalize(String name) {
        return String.join("-", NOT_ALNUM.splitAsStream(name).filter(s -> !s.isEmpty()).toList());
    }

    static String hostOf(String url) {
        if (url == null) {
            return null;
        }
        try {
            String host = URI.create(url).getHost();
            // IPv6 literals come back bracketed; pod IPs are compared without brackets.
            return host != null && host.startsWith("[") ? host.substring(1, host.length() - 1) : host;
        } catch (IllegalArgumentException e) {
            return null;
        }
    }

    private static int intOrZero(String s) {
        try {
            return Integer.parseInt(s.trim());
        } catch (NumberFormatException e) {
            return 0;
        }
    }

    private static String stripSlash(String s) {
        return s.endsWith("/") ? s.substring(0, s.length() - 1) : s;
    }

    private static String describe(Throwable e) {
        Throwable t = e;
        while ((t instanceof java.util.concurrent.CompletionException || t instanceof java.util.concurrent.ExecutionException)
                && t.getCause() != null) {
            t = t.getCause();
        }
        return t.getMessage() == null ? t.getClass().getSimpleName() : t.getClass().getSimpleName() + ": " + t.getMessage();
    }
}
