package dev.zdt.operator.ingress;

import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * What every replica of the front end said about one app, as of one question.
 *
 * @param known false when the replicas themselves could not be found (no such Service, a URL the
 *        operator may not ask, the API server unreachable); then {@code replicas} is empty and
 *        means nothing (unknown is never "removed")
 * @param replicas each replica's answer by its name (pod name, or address:port), in a stable order;
 *        empty when the controller has no ready replica
 * @param detail why it is unknown, or where the replicas were found (for messages)
 * @param askedAt when the question was sent
 * @param unnamed the replicas are another namespace's: messages name them by position ({@link #shown})
 *        and say nothing of their answers but what the gate concluded; their names (the map's keys,
 *        which the gate compares from answer to answer) and details are for the operator's log only
 */
public record IngressObservation(boolean known, Map<String, ReplicaAnswer> replicas, String detail, Instant askedAt,
        boolean unnamed) {

    public IngressObservation {
        replicas = java.util.Collections.unmodifiableMap(new LinkedHashMap<>(replicas));
    }

    public IngressObservation(boolean known, Map<String, ReplicaAnswer> replicas, String detail, Instant askedAt) {
        this(known, replicas, detail, askedAt, false);
    }

    public static IngressObservation unknown(String detail, Instant askedAt) {
        return new IngressObservation(false, Map.of(), detail, askedAt);
    }

    public static IngressObservation answered(Map<String, ReplicaAnswer> replicas, String source, Instant askedAt) {
        return new IngressObservation(true, replicas, source, askedAt);
    }

    /**
     * A replica as messages name it: its name, or for another namespace's replicas its position
     * among this answer's ({@code 2 of 3}), which says nothing of its pod, address or port.
     */
    public String shown(String replica) {
        if (!unnamed) {
            return replica;
        }
        List<String> names = List.copyOf(replicas.keySet());
        return (names.indexOf(replica) + 1) + " of " + names.size();
    }
}
