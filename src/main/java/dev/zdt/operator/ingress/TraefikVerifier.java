package dev.zdt.operator.ingress;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;

import jakarta.annotation.PreDestroy;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import dev.zdt.operator.Constants;
import dev.zdt.operator.api.v1alpha1.ControllerRef;
import dev.zdt.operator.api.v1alpha1.Provider;
import dev.zdt.operator.api.v1alpha1.TrafficSpec;
import dev.zdt.operator.api.v1alpha1.ZeroDowntimeApp;
import io.fabric8.kubernetes.client.KubernetesClient;

/**
 * Traefik's API, asked on every replica: {@code GET /api/http/services} lists every HTTP service
 * of every provider (Ingress {@code @kubernetes}, IngressRoute {@code @kubernetescrd}, Gateway API
 * {@code @kubernetesgateway}, files {@code @file}) with its load balancer's servers. The app's pods
 * are found by address in all of them, not by a service name that depends on the provider and on
 * how the port is named. A server listed with {@code "fenced": true} is a terminating endpoint that
 * gets no new request (sticky sessions only), so it does not count as routed.
 *
 * <p>Every page is size-capped and time-limited; an answer that fails says what failed (HTTP
 * status, timeout, size) and never repeats what the remote host sent.
 */
@ApplicationScoped
public class TraefikVerifier implements IngressVerifier {

    static final int PER_PAGE = 100;
    /** Traefik repeats pages past the end as page 1; this bounds a misbehaving API too. */
    static final int MAX_PAGES = 50;
    /** Services named like the app that a "never seen" message lists. */
    static final int HINTS = 3;
    private static final Pattern NOT_ALNUM = Pattern.compile("[^\\p{L}\\p{N}]+");

    private final HttpClient http;
    private final ObjectMapper json = new ObjectMapper();
    private final Duration timeout;
    private final int perPage;
    private final int maxBytes;
    private final IngressPolicy policy;
    private final ControllerReplicas replicas;
    private final ExecutorService lookups;

    @Inject
    public TraefikVerifier(KubernetesClient client, IngressConfig config, IngressPolicy policy) {
        this(client, config.requestTimeout(), PER_PAGE, config.maxResponseBytes(), policy);
    }

    TraefikVerifier(KubernetesClient client, Duration timeout, int perPage, int maxBytes, IngressPolicy policy) {
        this.timeout = timeout;
        this.perPage = perPage;
        this.maxBytes = maxBytes;
        this.policy = policy;
        // The API server lookups block: two threads of their own keep them off the gate's thread.
        this.lookups = Executors.newFixedThreadPool(2, r -> {
            Thread t = new Thread(r, "zdt-ingress-lookup");
            t.setDaemon(true);
            return t;
        });
        this.replicas = client == null ? null : new ControllerReplicas(client, lookups, Duration.ofMillis(250));
        this.http = HttpClient.newBuilder().connectTimeout(timeout).version(HttpClient.Version.HTTP_1_1)
                .followRedirects(HttpClient.Redirect.NEVER).build();
    }

    @PreDestroy
    void stop() {
        lookups.shutdownNow();
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
    public CompletionStage<IngressObservation> observe(ZeroDowntimeApp app, Set<String> addresses) {
        Instant asked = Instant.now();
        TrafficSpec traffic = app.getSpec().getTraffic();
        var refused = policy.refusal(traffic);
        if (refused.isPresent()) {
            return CompletableFuture.completedFuture(IngressObservation.unknown(refused.get(), asked));
        }
        // A DrainPolicy's pods are routed under its Services' names, which are often the policy's own.
        String policy = Constants.policyOf(app.getMetadata().getName());
        Hints hints = new Hints(app.getMetadata().getNamespace(), policy != null ? policy : app.getMetadata().getName());
        ControllerRef controller = traffic.getController();
        if (controller != null && replicas != null) {
            return replicas.find(controller).thenCompose(found -> found.error() != null
                    ? CompletableFuture.completedFuture(IngressObservation.unknown(found.error(), asked))
                    : askAll(found.replicas(), found.source(), addresses, hints, asked));
        }
        String url = traffic.getApiUrl();
        if (url == null || url.isBlank()) {
            return CompletableFuture.completedFuture(IngressObservation.unknown("traffic.controller is not set", asked));
        }
        URI base;
        try {
            base = URI.create(stripSlash(url));
        } catch (IllegalArgumentException e) {
            return CompletableFuture.completedFuture(IngressObservation.unknown("traffic.apiUrl is not a URL", asked));
        }
        String name = base.getPort() < 0 ? base.getHost() : base.getHost() + ":" + base.getPort();
        return askAll(List.of(new ControllerReplicas.Replica(name, stripSlash(url))), "traffic.apiUrl (one instance)",
                addresses, hints, asked);
    }

    CompletableFuture<IngressObservation> askAll(List<ControllerReplicas.Replica> all, String source,
            Set<String> addresses, Hints hints, Instant asked) {
        return ReplicaQuestions.askAll(all, source, asked, r -> ask(r, addresses, hints));
    }

    CompletableFuture<ReplicaAnswer> ask(ControllerReplicas.Replica replica, Set<String> addresses, Hints hints) {
        Map<String, Set<String>> routes = new TreeMap<>();
        Tally tally = new Tally(new TreeSet<>(addresses));
        return page(replica, 1, addresses, hints, routes, tally)
                .exceptionally(e -> ReplicaAnswer.failed(replica.name(),
                        "Traefik replica " + replica.name() + " " + describe(e)));
    }

    private CompletableFuture<ReplicaAnswer> page(ControllerReplicas.Replica replica, int page, Set<String> addresses,
            Hints hints, Map<String, Set<String>> routes, Tally tally) {
        URI uri = URI.create(replica.baseUrl() + "/api/http/services?per_page=" + perPage + "&page=" + page);
        HttpRequest request = HttpRequest.newBuilder(uri).timeout(timeout).GET().build();
        CompletableFuture<HttpResponse<byte[]>> sent = http.sendAsync(request, CappedBody.handler(maxBytes));
        // The request timeout ends at the headers: this one also bounds a body that trickles.
        return sent.copy().orTimeout(timeout.toMillis() * 2, TimeUnit.MILLISECONDS).whenComplete((r, e) -> {
            if (e != null) {
                sent.cancel(true);
            }
        }).thenCompose(response -> {
            if (response.statusCode() != 200) {
                return CompletableFuture.completedFuture(ReplicaAnswer.failed(replica.name(), "Traefik replica "
                        + replica.name() + " answered HTTP " + response.statusCode() + " to " + uri.getPath()));
            }
            try {
                JsonNode list = json.readTree(response.body());
                if (list == null || !list.isArray()) {
                    throw new IOException("not a list");
                }
                read(list, addresses, hints, routes, tally);
            } catch (IOException e) {
                return CompletableFuture.completedFuture(ReplicaAnswer.failed(replica.name(), "Traefik replica "
                        + replica.name() + " sent something that is not Traefik's service list to " + uri.getPath()));
            }
            int next = response.headers().firstValue("X-Next-Page").map(TraefikVerifier::intOrZero).orElse(0);
            if (next > page && page < MAX_PAGES) {
                return page(replica, next, addresses, hints, routes, tally);
            }
            if (next > page) {
                return CompletableFuture.completedFuture(ReplicaAnswer.failed(replica.name(), "Traefik replica "
                        + replica.name() + " lists more than " + MAX_PAGES * perPage + " HTTP services"));
            }
            return CompletableFuture.completedFuture(new ReplicaAnswer(replica.name(), true, routes,
                    tally.describe(hints), tally.fenced));
        });
    }

    /** One page of services: who lists which of the addresses, unfenced. */
    static void read(JsonNode services, Set<String> addresses, Hints hints, Map<String, Set<String>> routes,
            Tally tally) {
        for (JsonNode service : services) {
            String name = service.path("name").asText("");
            tally.services++;
            boolean hinted = hints.matches(name) && tally.hints.size() < HINTS;
            Set<String> listed = hinted ? new TreeSet<>() : null;
            for (JsonNode server : service.path("loadBalancer").path("servers")) {
                String host = hostOf(server.path("url").asText(null));
                boolean fenced = server.path("fenced").asBoolean(false);
                if (listed != null && host != null) {
                    listed.add(fenced ? host + " fenced" : host);
                }
                if (host != null && !fenced && addresses.contains(host)) {
                    routes.computeIfAbsent(host, h -> new TreeSet<>()).add(name);
                } else if (host != null && fenced && addresses.contains(host)) {
                    tally.fenced.add(host);
                }
            }
            if (hinted) {
                tally.hints.put(name, listed);
            }
        }
    }

    /** What a replica's list held, for a message that says what was found. */
    static final class Tally {
        final Set<String> lookedFor;
        int services;
        final Map<String, Set<String>> hints = new LinkedHashMap<>();
        /** Addresses asked about that are listed fenced (terminating, no new requests). */
        final Set<String> fenced = new TreeSet<>();

        Tally(Set<String> lookedFor) {
            this.lookedFor = lookedFor;
        }

        String describe(Hints h) {
            StringBuilder b = new StringBuilder("looked for " + (lookedFor.isEmpty() ? "no address" : String.join(", ", lookedFor))
                    + " among the servers of every HTTP service; found " + services + " HTTP services");
            if (hints.isEmpty()) {
                b.append(", none named like ").append(h.namespace()).append("/").append(h.app());
            } else {
                b.append(", named like the app: ");
                List<String> parts = new ArrayList<>();
                hints.forEach((name, servers) -> parts.add(name + " " + (servers.isEmpty() ? "[no servers]" : servers)));
                b.append(String.join(", ", parts));
            }
            return b.toString();
        }
    }

    /** Services whose name carries both the app's namespace and name, whatever the provider. */
    record Hints(String namespace, String app) {
        boolean matches(String serviceName) {
            String n = normalize(serviceName).toLowerCase(Locale.ROOT);
            return n.contains(normalize(namespace).toLowerCase(Locale.ROOT))
                    && n.contains(normalize(app).toLowerCase(Locale.ROOT));
        }
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

    /** What failed, in our words: the remote host's text (exception messages included) is never repeated. */
    String describe(Throwable e) {
        return ReplicaQuestions.describe(e, timeout, maxBytes);
    }

    static String size(int bytes) {
        return ReplicaQuestions.size(bytes);
    }
}
