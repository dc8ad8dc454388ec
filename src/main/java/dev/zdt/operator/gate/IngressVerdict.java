package dev.zdt.operator.gate;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

import dev.zdt.operator.ingress.IngressObservation;
import dev.zdt.operator.ingress.ReplicaAnswer;

/**
 * Whether the front end, all its replicas together, still routes to a terminating pod: pure, from
 * one observation (every replica's answer), the replicas that served when the pod's drain began,
 * and which replicas were ever seen routing to the app.
 *
 * <p>Gone needs every counted replica to say so, and each of them to have been seen listing the
 * app's pods: routing to a ready one, or fencing a terminating one (it sends that one no new
 * request, and it knows the app's backend by the pods' addresses, so its list can be trusted; a
 * replica restarted, or an operator just started, sees this on the first drain's first answer).
 * A replica that lists none of the app's pods may route to it under a name
 * or by a path the verifier does not know, so its silence proves nothing (unknown, held to the
 * bound). Counted are the replicas that served when the drain began and still do; a replica that
 * left the EndpointSlices stops counting, and one that joined later counts only if it routes to
 * the pod. A replica that could not be asked keeps the pod unknown. The replicas of a front end in
 * another namespace are named by their position only ({@link IngressObservation#shown}): the
 * verdict is the same, what the tenant reads about them is not their owner's detail.
 */
final class IngressVerdict {

    /** How many replicas a message names. */
    static final int NAMED = 2;

    private IngressVerdict() {
    }

    /** The verdict on one pod, and what people read about it (for {@link GateDecision.Target#ingressDetail}). */
    record Verdict(GateDecision.Ingress state, String detail) {
    }

    /** The replicas of one app's front end that were seen routing to a ready pod of the app, or fencing one of its pods. */
    static final class Sightings {
        private final Set<String> seen = new HashSet<>();
        private IngressObservation last;

        /**
         * Takes in an answer once (later calls with the same answer do nothing).
         *
         * @param ready the app's pods offered as ready by the EndpointSlices: routing to one of them is routing to the app
         */
        void record(IngressObservation o, Set<String> ready) {
            if (o == null || !o.known() || o == last) {
                return;
            }
            last = o;
            // A replica that left must be seen again: after a restart it may not know the app yet.
            seen.retainAll(o.replicas().keySet());
            for (ReplicaAnswer a : o.replicas().values()) {
                if (a.known() && (a.routes().keySet().stream().anyMatch(ready::contains) || !a.fenced().isEmpty())) {
                    seen.add(a.replica());
                }
            }
        }

        boolean saw(String replica) {
            return seen.contains(replica);
        }
    }

    /**
     * @param address the pod's IP, or null while unknown
     * @param atStart the replicas of the first answer asked once the pod was terminating
     * @param o the latest answer, asked once the pod was terminating, known
     */
    static Verdict judge(String address, Set<String> atStart, IngressObservation o, Sightings sightings) {
        if (address == null) {
            return new Verdict(GateDecision.Ingress.UNKNOWN, "the pod has no IP to look for");
        }
        Set<String> current = o.replicas().keySet();
        Set<String> counted = new LinkedHashSet<>(current);
        counted.retainAll(atStart);
        if (counted.isEmpty()) {
            // Every replica of the drain's start left: the ones serving now have to vouch.
            counted.addAll(current);
        }
        if (counted.isEmpty()) {
            return new Verdict(GateDecision.Ingress.UNKNOWN, "no ready replica found behind " + o.detail());
        }
        List<String> routing = new ArrayList<>();
        for (ReplicaAnswer a : o.replicas().values()) {
            if (a.known() && a.routes(address)) {
                // Another namespace's front end: its position only, not its name nor its services' names.
                routing.add(o.unnamed() ? o.shown(a.replica())
                        : a.replica() + " (" + String.join(", ", a.routes().get(address)) + ")");
            }
        }
        if (!routing.isEmpty()) {
            return new Verdict(GateDecision.Ingress.ROUTED, "through " + (routing.size() == 1 ? "replica " : "replicas ")
                    + named(routing));
        }
        List<String> unsure = new ArrayList<>();
        for (String r : counted) {
            ReplicaAnswer a = o.replicas().get(r);
            if (!a.known()) {
                unsure.add(a.detail());
            } else if (!sightings.saw(r)) {
                unsure.add("replica " + o.shown(r) + " was never seen listing a pod of the app (routing to a ready one or fencing one), "
                        + "so not listing this one proves nothing" + (a.detail() == null || a.detail().isEmpty() ? "" : " (" + a.detail() + ")"));
            }
        }
        if (!unsure.isEmpty()) {
            return new Verdict(GateDecision.Ingress.UNKNOWN, named(unsure));
        }
        return new Verdict(GateDecision.Ingress.GONE, "(" + (counted.size() == 1 ? "its 1 replica" : "all "
                + counted.size() + " replicas") + " asked)");
    }

    private static String named(List<String> items) {
        if (items.size() <= NAMED) {
            return String.join("; ", items);
        }
        return String.join("; ", items.subList(0, NAMED)) + "; and " + (items.size() - NAMED) + " more replicas";
    }
}
