package dev.zdt.operator.ingress;

import java.time.Instant;
import java.util.LinkedHashMap;
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
 */
public record IngressObservation(boolean known, Map<String, ReplicaAnswer> replicas, String detail, Instant askedAt) {

    public IngressObservation {
        replicas = java.util.Collections.unmodifiableMap(new LinkedHashMap<>(replicas));
    }

    public static IngressObservation unknown(String detail, Instant askedAt) {
        return new IngressObservation(false, Map.of(), detail, askedAt);
    }

    public static IngressObservation answered(Map<String, ReplicaAnswer> replicas, String source, Instant askedAt) {
        return new IngressObservation(true, replicas, source, askedAt);
    }
}
