package dev.zdt.operator.ingress;

import java.io.IOException;
import java.net.URI;
import java.time.Duration;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.CompletableFuture;

import jakarta.inject.Singleton;
import jakarta.inject.Inject;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import dev.zdt.operator.api.v1alpha1.Provider;
import dev.zdt.operator.ingress.FrontEndApi.Hints;
import dev.zdt.operator.ingress.FrontEndApi.Tally;
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
@Singleton
public class TraefikVerifier extends FrontEndVerifier {

    static final int PER_PAGE = 100;
    /** Traefik repeats pages past the end as page 1; this bounds a misbehaving API too. */
    static final int MAX_PAGES = 50;
    /** Services named like the app that a "never seen" message lists. */
    static final int HINTS = 3;

    private final ObjectMapper json = new ObjectMapper();
    private final int perPage;

    @Inject
    public TraefikVerifier(KubernetesClient client, IngressConfig config, IngressPolicy policy) {
        this(client, config.requestTimeout(), PER_PAGE, config.maxResponseBytes(), policy);
    }

    TraefikVerifier(KubernetesClient client, Duration timeout, int perPage, int maxBytes, IngressPolicy policy) {
        super(Provider.TRAEFIK, "Traefik", new FrontEndApi(client, timeout, maxBytes, policy));
        this.perPage = perPage;
    }

    static Tally tally(Set<String> addresses) {
        return new Tally(new TreeSet<>(addresses), "the servers of every HTTP service", "HTTP services");
    }

    @Override
    CompletableFuture<ReplicaAnswer> ask(ControllerReplicas.Replica replica, Set<String> addresses, Hints hints) {
        Map<String, Set<String>> routes = new TreeMap<>();
        Tally tally = tally(addresses);
        return page(replica, 1, addresses, hints, routes, tally)
                .exceptionally(e -> ReplicaAnswer.failed(replica.name(),
                        "Traefik replica " + replica.name() + " " + api.describe(e)));
    }

    private CompletableFuture<ReplicaAnswer> page(ControllerReplicas.Replica replica, int page, Set<String> addresses,
            Hints hints, Map<String, Set<String>> routes, Tally tally) {
        URI uri = URI.create(replica.baseUrl() + "/api/http/services?per_page=" + perPage + "&page=" + page);
        return api.get(uri).thenCompose(response -> {
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
                    tally.describe(hints), tally.listedNotRouted));
        });
    }

    /** One page of services: who lists which of the addresses, unfenced. */
    static void read(JsonNode services, Set<String> addresses, Hints hints, Map<String, Set<String>> routes,
            Tally tally) {
        for (JsonNode service : services) {
            String name = service.path("name").asText("");
            Set<String> listed = tally.backend(name, hints, HINTS);
            for (JsonNode server : service.path("loadBalancer").path("servers")) {
                String host = hostOf(server.path("url").asText(null));
                boolean fenced = server.path("fenced").asBoolean(false);
                if (listed != null && host != null) {
                    listed.add(fenced ? host + " fenced" : host);
                }
                if (host != null && !fenced && addresses.contains(host)) {
                    routes.computeIfAbsent(host, h -> new TreeSet<>()).add(name);
                } else if (host != null && fenced && addresses.contains(host)) {
                    tally.listedNotRouted.add(host);
                }
            }
        }
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
}
