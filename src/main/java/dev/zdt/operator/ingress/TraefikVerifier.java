package dev.zdt.operator.ingress;

import java.io.IOException;
import java.net.URI;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.CompletableFuture;

import jakarta.inject.Singleton;
import jakarta.inject.Inject;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.exc.StreamConstraintsException;
import com.fasterxml.jackson.databind.JsonNode;

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
 * <p>Every page is size-capped and time-limited, and read as a stream with caps on depth, string
 * length and entries ({@link FrontEndJson}): a hostile page costs its capped bytes, not a tree of
 * them. An answer that fails says what failed (HTTP status, timeout, size, a cap) and never repeats
 * what the remote host sent.
 */
@Singleton
public class TraefikVerifier extends FrontEndVerifier {

    static final int PER_PAGE = 100;
    /** Traefik repeats pages past the end as page 1; this bounds a misbehaving API too. */
    static final int MAX_PAGES = 50;
    /** Services named like the app that a "never seen" message lists. */
    static final int HINTS = 3;
    /** Servers of such a service the message lists. */
    static final int SHOWN = 100;
    /** Names of services kept per address routed to (a pod behind a handful of routes has a handful). */
    static final int NAMES = 10;
    /**
     * Servers read on one page: a server is ~30 bytes, so the 8 MiB cap admits ~280,000; a real
     * page of 100 services lists far fewer. Over it, the replica's answer is unknown.
     */
    static final int MAX_SERVERS = 100_000;

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
        // The page is fetched and read in one slot; the next one is asked for once its bytes are dropped.
        return FrontEndApi.oneOfFewAnswers(() -> api.get(uri).thenApply(response -> {
            if (response.statusCode() != 200) {
                return Page.failed(ReplicaAnswer.failed(replica.name(), "Traefik replica "
                        + replica.name() + " answered HTTP " + response.statusCode() + " to " + uri.getPath()));
            }
            int next = response.headers().firstValue("X-Next-Page").map(TraefikVerifier::intOrZero).orElse(0);
            try (JsonParser parser = api.json().parser(response.body().stream())) {
                read(parser, addresses, hints, routes, tally, perPage);
            } catch (FrontEndJson.OverCap e) {
                return Page.failed(ReplicaAnswer.failed(replica.name(), "Traefik replica "
                        + replica.name() + " " + e.getMessage()));
            } catch (StreamConstraintsException e) {
                return Page.failed(ReplicaAnswer.failed(replica.name(), "Traefik replica "
                        + replica.name() + " " + FrontEndJson.overCap(e).getMessage()));
            } catch (IOException e) {
                return Page.failed(ReplicaAnswer.failed(replica.name(), "Traefik replica "
                        + replica.name() + " sent something that is not Traefik's service list to " + uri.getPath()));
            }
            return new Page(next, null);
        })).thenCompose(read -> {
            if (read.failed() != null) {
                return CompletableFuture.completedFuture(read.failed());
            }
            if (read.next() > page && page < MAX_PAGES) {
                return page(replica, read.next(), addresses, hints, routes, tally);
            }
            if (read.next() > page) {
                return CompletableFuture.completedFuture(ReplicaAnswer.failed(replica.name(), "Traefik replica "
                        + replica.name() + " lists more than " + MAX_PAGES * perPage + " HTTP services"));
            }
            return CompletableFuture.completedFuture(new ReplicaAnswer(replica.name(), true, routes,
                    tally.describe(hints), tally.listedNotRouted));
        });
    }

    /** One page read: the next page Traefik names (0: none), or the replica's failed answer. */
    private record Page(int next, ReplicaAnswer failed) {
        static Page failed(ReplicaAnswer answer) {
            return new Page(0, answer);
        }
    }

    /** One page of services, already read into a tree (tests, recorded answers): no entry cap. */
    static void read(JsonNode services, Set<String> addresses, Hints hints, Map<String, Set<String>> routes,
            Tally tally) throws IOException {
        try (JsonParser parser = services.traverse()) {
            read(parser, addresses, hints, routes, tally, Integer.MAX_VALUE);
        }
    }

    /**
     * One page of services, read as a stream: who lists which of the addresses, unfenced. Only a
     * service's name and its load balancer's servers' url and fenced are read; everything else is
     * skipped unread. Retained: the routes and fenced addresses of the app's own pods (at most
     * {@link #NAMES} service names each) and at most {@link #SHOWN} servers of the few services a
     * message names.
     *
     * @param maxServices the most services a page may list (Traefik sends at most {@code per_page})
     * @throws FrontEndJson.OverCap when the page lists more services or servers than the caps
     * @throws IOException when it is not a list
     */
    static void read(JsonParser p, Set<String> addresses, Hints hints, Map<String, Set<String>> routes, Tally tally,
            int maxServices) throws IOException {
        if (p.nextToken() != JsonToken.START_ARRAY) {
            throw new IOException("not a list");
        }
        int services = 0;
        int servers = 0;
        for (JsonToken t = p.nextToken(); t != JsonToken.END_ARRAY; t = p.nextToken()) {
            if (t == null) {
                throw new IOException("the list ends early");
            }
            if (++services > maxServices) {
                throw new FrontEndJson.OverCap("listed more than " + maxServices + " HTTP services on one page");
            }
            Service service = new Service(addresses, tally.hints.size() < HINTS);
            if (t == JsonToken.START_OBJECT) {
                while (p.nextToken() == JsonToken.FIELD_NAME) {
                    String field = p.currentName();
                    p.nextToken();
                    if ("name".equals(field)) {
                        service.name = FrontEndJson.text(p, "");
                    } else if ("loadBalancer".equals(field)) {
                        servers = service.readLoadBalancer(p, servers);
                    } else {
                        p.skipChildren();
                    }
                }
            } else {
                p.skipChildren();
            }
            service.apply(hints, routes, tally);
        }
    }

    /** One service while its object is read: Traefik writes its name after its servers. */
    private static final class Service {
        private final Set<String> addresses;
        private final boolean mayBeNamed;
        String name = "";
        /** The first servers, kept in case the service is one a message names. */
        final List<String> shown = new ArrayList<>();
        /** Addresses asked about that it lists unfenced, and fenced: at most all the addresses, twice. */
        private final Set<String> unfenced = new TreeSet<>();
        private final Set<String> fenced = new TreeSet<>();

        Service(Set<String> addresses, boolean mayBeNamed) {
            this.addresses = addresses;
            this.mayBeNamed = mayBeNamed;
        }

        int readLoadBalancer(JsonParser p, int servers) throws IOException {
            if (p.currentToken() != JsonToken.START_OBJECT) {
                p.skipChildren();
                return servers;
            }
            while (p.nextToken() == JsonToken.FIELD_NAME) {
                String field = p.currentName();
                JsonToken value = p.nextToken();
                if (!"servers".equals(field) || value != JsonToken.START_ARRAY) {
                    p.skipChildren();
                    continue;
                }
                for (JsonToken t = p.nextToken(); t != JsonToken.END_ARRAY; t = p.nextToken()) {
                    if (t == null) {
                        throw new IOException("the servers end early");
                    }
                    if (++servers > MAX_SERVERS) {
                        throw new FrontEndJson.OverCap("listed more than " + MAX_SERVERS + " servers on one page");
                    }
                    server(p, t);
                }
            }
            return servers;
        }

        private void server(JsonParser p, JsonToken t) throws IOException {
            if (t != JsonToken.START_OBJECT) {
                p.skipChildren();
                return;
            }
            String url = null;
            boolean fenced = false;
            while (p.nextToken() == JsonToken.FIELD_NAME) {
                String field = p.currentName();
                JsonToken value = p.nextToken();
                if ("url".equals(field)) {
                    url = value == JsonToken.VALUE_STRING ? p.getText() : FrontEndJson.text(p, null);
                } else if ("fenced".equals(field)) {
                    fenced = FrontEndJson.truthy(p);
                } else {
                    p.skipChildren();
                }
            }
            boolean show = mayBeNamed && shown.size() < SHOWN;
            if (url == null || !show && !mentionsAny(url)) {
                return; // neither shown nor one of ours: not worth parsing the URL
            }
            String host = hostOf(url);
            if (host == null) {
                return;
            }
            if (show) {
                shown.add(fenced ? host + " fenced" : host);
            }
            if (addresses.contains(host)) {
                (fenced ? this.fenced : unfenced).add(host);
            }
        }

        private boolean mentionsAny(String url) {
            for (String a : addresses) {
                if (url.contains(a)) {
                    return true;
                }
            }
            return false;
        }

        void apply(Hints hints, Map<String, Set<String>> routes, Tally tally) {
            Set<String> listed = tally.backend(name, hints, HINTS);
            if (listed != null) {
                listed.addAll(shown);
            }
            for (String host : unfenced) {
                Set<String> names = routes.computeIfAbsent(host, h -> new TreeSet<>());
                if (names.size() < NAMES) {
                    names.add(name);
                }
            }
            tally.listedNotRouted.addAll(fenced);
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
