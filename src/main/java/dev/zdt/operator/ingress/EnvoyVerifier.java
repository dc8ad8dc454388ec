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
 * Envoy's admin API, asked on every replica: {@code GET /clusters?format=json} lists every
 * upstream cluster Envoy has (from Contour, Envoy Gateway or any xDS control plane, or static)
 * with its hosts and each host's health. The app's pods are found by address in all clusters,
 * whatever the control plane names them. A host Envoy excludes from load balancing (EDS status
 * DRAINING, UNHEALTHY or TIMEOUT, or a failed active health check) gets no new request: it does
 * not count as routed, but shows that the replica knows the app's backend by that address.
 * DEGRADED hosts, hosts ejected by outlier detection (they come back by themselves) and hosts
 * awaiting their first health check still count as routed.
 *
 * <p>The answer is one body, size-capped, time-limited and read as a stream with caps like
 * Traefik's pages ({@link FrontEndJson}); a failure says what failed and never repeats what the
 * remote host sent.
 */
@Singleton
public class EnvoyVerifier extends FrontEndVerifier {

    static final String PATH = "/clusters?format=json";
    /** Clusters named like the app that a "never seen" message lists. */
    static final int HINTS = 3;
    /** Hosts of such a cluster the message lists. */
    static final int SHOWN = 100;
    /** Names of clusters kept per address balanced to. */
    static final int NAMES = 10;
    /**
     * Clusters read from one answer: a real cluster's status with its stats is ~500 bytes, so the
     * 8 MiB cap holds fewer than 20,000; more is not Envoy's answer. Over it, unknown.
     */
    static final int MAX_CLUSTERS = 20_000;
    /** Hosts read from one answer, over all clusters (a host's status is ~400 bytes). */
    static final int MAX_HOSTS = 100_000;
    /** EDS health statuses Envoy does not balance to (envoy.config.core.v3.HealthStatus). */
    static final Set<String> EXCLUDED_STATUSES = Set.of("UNHEALTHY", "DRAINING", "TIMEOUT");
    /** Health flags of admin's HostHealthStatus that take a host out of load balancing. */
    static final List<String> EXCLUDING_FLAGS = List.of("failed_active_health_check", "active_hc_timeout",
            "excluded_via_immediate_hc_fail");

    @Inject
    public EnvoyVerifier(KubernetesClient client, IngressConfig config, IngressPolicy policy) {
        this(client, config.requestTimeout(), config.maxResponseBytes(), policy);
    }

    EnvoyVerifier(KubernetesClient client, Duration timeout, int maxBytes, IngressPolicy policy) {
        super(Provider.ENVOY, "Envoy", new FrontEndApi(client, timeout, maxBytes, policy));
    }

    static Tally tally(Set<String> addresses) {
        return new Tally(new TreeSet<>(addresses), "the hosts of every Envoy cluster", "clusters");
    }

    @Override
    CompletableFuture<ReplicaAnswer> ask(ControllerReplicas.Replica replica, Set<String> addresses, Hints hints) {
        URI uri = URI.create(replica.baseUrl() + PATH);
        return FrontEndApi.oneOfFewAnswers(() -> api.get(uri).thenApply(response -> {
            if (response.statusCode() != 200) {
                return ReplicaAnswer.failed(replica.name(), "Envoy replica " + replica.name() + " answered HTTP "
                        + response.statusCode() + " to " + uri.getPath());
            }
            Map<String, Set<String>> routes = new TreeMap<>();
            Tally tally = tally(addresses);
            try (JsonParser parser = api.json().parser(response.body().stream())) {
                read(parser, addresses, hints, routes, tally);
            } catch (FrontEndJson.OverCap e) {
                return ReplicaAnswer.failed(replica.name(), "Envoy replica " + replica.name() + " " + e.getMessage());
            } catch (StreamConstraintsException e) {
                return ReplicaAnswer.failed(replica.name(), "Envoy replica " + replica.name() + " "
                        + FrontEndJson.overCap(e).getMessage());
            } catch (IOException e) {
                return ReplicaAnswer.failed(replica.name(), "Envoy replica " + replica.name()
                        + " sent something that is not Envoy's cluster list to " + uri.getPath());
            }
            return new ReplicaAnswer(replica.name(), true, routes, tally.describe(hints), tally.listedNotRouted);
        })).exceptionally(e -> ReplicaAnswer.failed(replica.name(),
                "Envoy replica " + replica.name() + " " + api.describe(e)));
    }

    /** One replica's cluster list already read into a tree (tests, recorded answers): no entry cap. */
    static void read(JsonNode root, Set<String> addresses, Hints hints, Map<String, Set<String>> routes, Tally tally)
            throws IOException {
        try (JsonParser parser = root.traverse()) {
            read(parser, addresses, hints, routes, tally);
        }
    }

    /**
     * One replica's cluster list, read as a stream: for each address asked about, the clusters
     * balancing to it; addresses listed only as excluded hosts go to {@code tally.listedNotRouted}.
     * Only a cluster's name and its hosts' address and health are read; the rest (stats, localities)
     * is skipped unread. Retained: the app's own addresses (at most {@link #NAMES} cluster names
     * each) and at most {@link #SHOWN} hosts of the few clusters a message names.
     *
     * @throws FrontEndJson.OverCap over {@link #MAX_CLUSTERS} clusters or {@link #MAX_HOSTS} hosts
     * @throws IOException when it is not an object, or {@code cluster_statuses} is there but is not a list
     */
    static void read(JsonParser p, Set<String> addresses, Hints hints, Map<String, Set<String>> routes, Tally tally)
            throws IOException {
        if (p.nextToken() != JsonToken.START_OBJECT) {
            throw new IOException("not an object");
        }
        Set<String> excluded = new TreeSet<>();
        int[] hosts = {0};
        while (p.nextToken() == JsonToken.FIELD_NAME) {
            String field = p.currentName();
            JsonToken value = p.nextToken();
            if (!"cluster_statuses".equals(field)) {
                p.skipChildren();
                continue;
            }
            // An Envoy with no cluster at all leaves the field out.
            if (value != JsonToken.START_ARRAY) {
                throw new IOException("cluster_statuses is not a list");
            }
            int clusters = 0;
            for (JsonToken t = p.nextToken(); t != JsonToken.END_ARRAY; t = p.nextToken()) {
                if (t == null) {
                    throw new IOException("the list ends early");
                }
                if (++clusters > MAX_CLUSTERS) {
                    throw new FrontEndJson.OverCap("listed more than " + MAX_CLUSTERS + " clusters");
                }
                Cluster cluster = new Cluster(addresses, tally.hints.size() < HINTS);
                cluster.read(p, t, hosts);
                cluster.apply(hints, routes, tally, excluded);
            }
        }
        // An address one cluster excludes but another balances to is routed.
        excluded.removeAll(routes.keySet());
        tally.listedNotRouted.addAll(excluded);
    }

    /** One cluster while its object is read. */
    private static final class Cluster {
        private final Set<String> addresses;
        private final boolean mayBeNamed;
        private String name = "";
        /** The first hosts, kept in case the cluster is one a message names. */
        private final List<String> shown = new ArrayList<>();
        /** Addresses asked about that it balances to, and that it excludes: at most all the addresses, twice. */
        private final Set<String> balanced = new TreeSet<>();
        private final Set<String> excluded = new TreeSet<>();

        Cluster(Set<String> addresses, boolean mayBeNamed) {
            this.addresses = addresses;
            this.mayBeNamed = mayBeNamed;
        }

        void read(JsonParser p, JsonToken t, int[] hosts) throws IOException {
            if (t != JsonToken.START_OBJECT) {
                p.skipChildren();
                return;
            }
            while (p.nextToken() == JsonToken.FIELD_NAME) {
                String field = p.currentName();
                JsonToken value = p.nextToken();
                if ("name".equals(field)) {
                    name = FrontEndJson.text(p, "");
                } else if ("host_statuses".equals(field) && value == JsonToken.START_ARRAY) {
                    for (JsonToken h = p.nextToken(); h != JsonToken.END_ARRAY; h = p.nextToken()) {
                        if (h == null) {
                            throw new IOException("the hosts end early");
                        }
                        if (++hosts[0] > MAX_HOSTS) {
                            throw new FrontEndJson.OverCap("listed more than " + MAX_HOSTS + " hosts");
                        }
                        host(p, h);
                    }
                } else {
                    p.skipChildren();
                }
            }
        }

        private void host(JsonParser p, JsonToken t) throws IOException {
            if (t != JsonToken.START_OBJECT) {
                p.skipChildren();
                return;
            }
            String ip = null;
            String out = null;
            while (p.nextToken() == JsonToken.FIELD_NAME) {
                String field = p.currentName();
                p.nextToken();
                if ("address".equals(field)) {
                    ip = ipOf(p);
                } else if ("health_status".equals(field)) {
                    out = exclusion(p);
                } else {
                    p.skipChildren();
                }
            }
            if (ip == null) {
                return;
            }
            if (mayBeNamed && shown.size() < SHOWN) {
                shown.add(out == null ? ip : ip + " " + out);
            }
            if (addresses.contains(ip)) {
                (out == null ? balanced : excluded).add(ip);
            }
        }

        void apply(Hints hints, Map<String, Set<String>> routes, Tally tally, Set<String> allExcluded) {
            Set<String> listed = tally.backend(name, hints, HINTS);
            if (listed != null) {
                listed.addAll(shown);
            }
            for (String ip : balanced) {
                Set<String> names = routes.computeIfAbsent(ip, h -> new TreeSet<>());
                if (names.size() < NAMES) {
                    names.add(name);
                }
            }
            allExcluded.addAll(excluded);
        }
    }

    /** Why Envoy sends a host no new request (an EDS status or a failed check), or null when it may. */
    static String exclusion(JsonNode health) throws IOException {
        try (JsonParser parser = health.traverse()) {
            parser.nextToken();
            return exclusion(parser);
        }
    }

    /** The same, read from the parser at the start of a host's {@code health_status}. */
    static String exclusion(JsonParser p) throws IOException {
        if (p.currentToken() != JsonToken.START_OBJECT) {
            p.skipChildren();
            return null;
        }
        String eds = "";
        Set<String> flags = new TreeSet<>();
        while (p.nextToken() == JsonToken.FIELD_NAME) {
            String field = p.currentName();
            p.nextToken();
            if ("eds_health_status".equals(field)) {
                eds = FrontEndJson.text(p, "");
            } else if (EXCLUDING_FLAGS.contains(field)) {
                if (FrontEndJson.truthy(p)) {
                    flags.add(field);
                }
            } else {
                p.skipChildren();
            }
        }
        if (EXCLUDED_STATUSES.contains(eds)) {
            return eds;
        }
        for (String flag : EXCLUDING_FLAGS) {
            if (flags.contains(flag)) {
                return flag;
            }
        }
        return null;
    }

    /** A host's IP, from the parser at the start of its {@code address}: the socket address (pipes and named resolvers have none we can match). */
    static String ipOf(JsonParser p) throws IOException {
        if (p.currentToken() != JsonToken.START_OBJECT) {
            p.skipChildren();
            return null;
        }
        String ip = null;
        while (p.nextToken() == JsonToken.FIELD_NAME) {
            String field = p.currentName();
            p.nextToken();
            if (!"socket_address".equals(field) || p.currentToken() != JsonToken.START_OBJECT) {
                p.skipChildren();
                continue;
            }
            while (p.nextToken() == JsonToken.FIELD_NAME) {
                String inner = p.currentName();
                p.nextToken();
                if ("address".equals(inner)) {
                    ip = FrontEndJson.text(p, null);
                } else {
                    p.skipChildren();
                }
            }
        }
        if (ip == null || ip.isEmpty()) {
            return null;
        }
        return ip.startsWith("[") && ip.endsWith("]") ? ip.substring(1, ip.length() - 1) : ip;
    }
}
