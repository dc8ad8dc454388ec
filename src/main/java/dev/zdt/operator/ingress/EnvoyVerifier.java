package dev.zdt.operator.ingress;

import java.io.IOException;
import java.net.URI;
import java.time.Duration;
import java.util.List;
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
 * Envoy's admin API, asked on every replica: {@code GET /clusters?format=json} lists every
 * upstream cluster Envoy has (from Contour, Envoy Gateway or any xDS control plane, or static)
 * with its hosts and each host's health. The app's pods are found by address in all clusters,
 * whatever the control plane names them. A host Envoy excludes from load balancing (EDS status
 * DRAINING, UNHEALTHY or TIMEOUT, or a failed active health check) gets no new request: it does
 * not count as routed, but shows that the replica knows the app's backend by that address.
 * DEGRADED hosts, hosts ejected by outlier detection (they come back by themselves) and hosts
 * awaiting their first health check still count as routed.
 *
 * <p>The answer is one body, size-capped and time-limited like Traefik's pages; a failure says
 * what failed and never repeats what the remote host sent.
 */
@Singleton
public class EnvoyVerifier extends FrontEndVerifier {

    static final String PATH = "/clusters?format=json";
    /** Clusters named like the app that a "never seen" message lists. */
    static final int HINTS = 3;
    /** EDS health statuses Envoy does not balance to (envoy.config.core.v3.HealthStatus). */
    static final Set<String> EXCLUDED_STATUSES = Set.of("UNHEALTHY", "DRAINING", "TIMEOUT");
    /** Health flags of admin's HostHealthStatus that take a host out of load balancing. */
    static final List<String> EXCLUDING_FLAGS = List.of("failed_active_health_check", "active_hc_timeout",
            "excluded_via_immediate_hc_fail");

    private final ObjectMapper json = new ObjectMapper();

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
        return api.get(uri).thenApply(response -> {
            if (response.statusCode() != 200) {
                return ReplicaAnswer.failed(replica.name(), "Envoy replica " + replica.name() + " answered HTTP "
                        + response.statusCode() + " to " + uri.getPath());
            }
            Map<String, Set<String>> routes = new TreeMap<>();
            Tally tally = tally(addresses);
            try {
                JsonNode root = json.readTree(response.body());
                if (root == null || !root.isObject()) {
                    throw new IOException("not an object");
                }
                read(root, addresses, hints, routes, tally);
            } catch (IOException e) {
                return ReplicaAnswer.failed(replica.name(), "Envoy replica " + replica.name()
                        + " sent something that is not Envoy's cluster list to " + uri.getPath());
            }
            return new ReplicaAnswer(replica.name(), true, routes, tally.describe(hints), tally.listedNotRouted);
        }).exceptionally(e -> ReplicaAnswer.failed(replica.name(),
                "Envoy replica " + replica.name() + " " + api.describe(e)));
    }

    /**
     * One replica's cluster list: for each address asked about, the clusters balancing to it;
     * addresses listed only as excluded hosts go to {@code tally.listedNotRouted}.
     *
     * @throws IOException when {@code cluster_statuses} is there but is not a list
     */
    static void read(JsonNode root, Set<String> addresses, Hints hints, Map<String, Set<String>> routes, Tally tally)
            throws IOException {
        JsonNode clusters = root.path("cluster_statuses");
        // An Envoy with no cluster at all leaves the field out.
        if (!clusters.isMissingNode() && !clusters.isArray()) {
            throw new IOException("cluster_statuses is not a list");
        }
        Set<String> excluded = new TreeSet<>();
        for (JsonNode cluster : clusters) {
            String name = cluster.path("name").asText("");
            Set<String> listed = tally.backend(name, hints, HINTS);
            for (JsonNode host : cluster.path("host_statuses")) {
                String ip = ipOf(host.path("address"));
                if (ip == null) {
                    continue;
                }
                String out = exclusion(host.path("health_status"));
                if (listed != null) {
                    listed.add(out == null ? ip : ip + " " + out);
                }
                if (!addresses.contains(ip)) {
                    continue;
                }
                if (out == null) {
                    routes.computeIfAbsent(ip, h -> new TreeSet<>()).add(name);
                } else {
                    excluded.add(ip);
                }
            }
        }
        // An address one cluster excludes but another balances to is routed.
        excluded.removeAll(routes.keySet());
        tally.listedNotRouted.addAll(excluded);
    }

    /** Why Envoy sends a host no new request (an EDS status or a failed check), or null when it may. */
    static String exclusion(JsonNode health) {
        String eds = health.path("eds_health_status").asText("");
        if (EXCLUDED_STATUSES.contains(eds)) {
            return eds;
        }
        for (String flag : EXCLUDING_FLAGS) {
            if (health.path(flag).asBoolean(false)) {
                return flag;
            }
        }
        return null;
    }

    /** A host's IP: the socket address (pipes and named resolvers have none we can match). */
    static String ipOf(JsonNode address) {
        String ip = address.path("socket_address").path("address").asText(null);
        if (ip == null || ip.isEmpty()) {
            return null;
        }
        return ip.startsWith("[") && ip.endsWith("]") ? ip.substring(1, ip.length() - 1) : ip;
    }
}
