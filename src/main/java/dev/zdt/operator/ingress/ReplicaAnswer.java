package dev.zdt.operator.ingress;

import java.util.Map;
import java.util.Set;

/**
 * One front-end replica's answer.
 *
 * @param replica its name in messages: pod name, or address:port
 * @param known false when it could not be asked (no connection, timeout, non-200, oversized or
 *        unreadable answer); then {@code routes} is empty and means nothing
 * @param routes for each address asked about that the replica routes new requests to (listed and
 *        not fenced), the names of the services listing it
 * @param detail why it is unknown; else what was looked at, for a message that must say what was found
 * @param fenced the addresses asked about that the replica lists as fenced: terminating endpoints it
 *        sends no new request to, and proof that it knows the app's backend by those addresses
 */
public record ReplicaAnswer(String replica, boolean known, Map<String, Set<String>> routes, String detail,
        Set<String> fenced) {

    public ReplicaAnswer {
        routes = Map.copyOf(routes);
        fenced = Set.copyOf(fenced);
    }

    public ReplicaAnswer(String replica, boolean known, Map<String, Set<String>> routes, String detail) {
        this(replica, known, routes, detail, Set.of());
    }

    public static ReplicaAnswer failed(String replica, String detail) {
        return new ReplicaAnswer(replica, false, Map.of(), detail);
    }

    public boolean routes(String address) {
        return address != null && routes.containsKey(address);
    }
}
