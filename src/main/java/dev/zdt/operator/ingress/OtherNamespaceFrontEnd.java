package dev.zdt.operator.ingress;

import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

import org.jboss.logging.Logger;

import dev.zdt.operator.api.v1alpha1.ZeroDowntimeApp;

/**
 * What an app learns about a front end in another namespace than its own. The app's status, its
 * Events and the gate's answers (which the app's pods log) are the tenant's to read, and the front
 * end is someone else's: its replicas' pod names, addresses and ports, what they answered and how
 * they failed stay in the operator's log. The tenant reads each replica by its position
 * ({@code replica 2 of 3}) and what the gate concluded from it; whether its Service exists at all it
 * does not learn ({@link FrontEndConsent}). The gate still judges by the full answers: the
 * replicas keep their names as keys, so a replica is the same one from answer to answer.
 */
final class OtherNamespaceFrontEnd {

    private static final Logger LOG = Logger.getLogger(OtherNamespaceFrontEnd.class);
    /** Apps and replicas whose last logged line is remembered, so that a line is written when it changes, not on every question. */
    private static final int REMEMBERED = 4096;

    private final Map<String, String> logged = new ConcurrentHashMap<>();

    /** The answers as the tenant may read them: no replica's name, service names or detail; all of it logged. */
    IngressObservation answered(ZeroDowntimeApp app, IngressObservation o) {
        Map<String, ReplicaAnswer> shown = new LinkedHashMap<>();
        int n = o.replicas().size();
        int i = 0;
        for (ReplicaAnswer a : o.replicas().values()) {
            String position = ++i + " of " + n;
            log(app, a.replica(), a.known(), "replica " + position + " of " + o.detail() + " is " + a.replica()
                    + (a.known() ? ", answered: " : ", not known: ") + a.detail());
            Map<String, Set<String>> routes = new LinkedHashMap<>();
            a.routes().keySet().forEach(address -> routes.put(address, Set.of()));
            shown.put(a.replica(), new ReplicaAnswer(a.replica(), a.known(), routes,
                    a.known() ? "" : "replica " + position + " gave no usable answer (the operator's log says why)",
                    a.fenced()));
        }
        return new IngressObservation(true, shown, o.detail(), o.askedAt(), true);
    }

    /** The replicas could not be found, or the app may not name the Service: the tenant's text, the admin's in the log. */
    IngressObservation notFound(ZeroDowntimeApp app, ControllerReplicas.Found found, Instant asked) {
        log(app, "", false, found.log() != null ? found.log() : found.error());
        return IngressObservation.unknown(found.error(), asked);
    }

    private void log(ZeroDowntimeApp app, String replica, boolean known, String line) {
        String appName = app.getMetadata().getNamespace() + "/" + app.getMetadata().getName();
        String key = appName + "|" + replica;
        if (line.equals(logged.put(key, line))) {
            return;
        }
        if (logged.size() > REMEMBERED) {
            logged.clear();
        }
        if (known) {
            LOG.infof("front end of app %s (another namespace's; the app is not told this): %s", appName, line);
        } else {
            LOG.warnf("front end of app %s (another namespace's; the app is not told this): %s", appName, line);
        }
    }
}
