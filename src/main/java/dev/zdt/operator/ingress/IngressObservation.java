package dev.zdt.operator.ingress;

import java.time.Instant;
import java.util.Set;

/**
 * What the front end routes to for one app, as of one question.
 *
 * @param known false when the front end could not be asked; then {@code addresses} is empty and
 *        means nothing (unknown is never "removed")
 * @param addresses the pod IPs the front end still sends new requests to, for the app's Service
 * @param detail why it is unknown, or a short description of the answer
 * @param askedAt when the question was sent
 */
public record IngressObservation(boolean known, Set<String> addresses, String detail, Instant askedAt) {

    public static IngressObservation unknown(String detail, Instant askedAt) {
        return new IngressObservation(false, Set.of(), detail, askedAt);
    }

    public static IngressObservation listed(Set<String> addresses, Instant askedAt) {
        return new IngressObservation(true, Set.copyOf(addresses), addresses.size() + " servers listed", askedAt);
    }
}
