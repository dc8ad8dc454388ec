package dev.zdt.operator.ingress;

import java.util.Arrays;
import java.util.List;
import java.util.Map;

import dev.zdt.operator.Constants;
import io.fabric8.kubernetes.api.model.Service;

/**
 * Whether the owner of a Service's namespace let apps of another namespace name it as their
 * {@code traffic.controller}: the operator then reads its EndpointSlices and sends requests to its
 * endpoints on that app's behalf, so a tenant could otherwise point it at anyone's Service. The
 * mark is the label {@link Constants#FRONT_END_LABEL}{@code =true} on the Service; the annotation
 * {@link Constants#FRONT_END_NAMESPACES_ANNOTATION} may narrow it to some namespaces. An app of the
 * Service's own namespace needs no mark: its owners own the Service too.
 *
 * <p>The tenant reads one answer for a Service that is missing, unmarked, or marked for other
 * namespaces, so a refusal does not tell it which Services exist elsewhere; the reason that tells
 * them apart is for the operator's log.
 */
final class FrontEndConsent {

    /**
     * A refusal: what the app's status may say, and what the operator's log says.
     *
     * @param tenant the same text whether the Service is missing or unmarked
     * @param log which of the two it was, for the cluster admin
     */
    record Refusal(String tenant, String log) {
    }

    private FrontEndConsent() {
    }

    /**
     * Why an app of {@code appNamespace} may not name the Service, or null when it may.
     *
     * @param service the Service as read, or null when there is none
     */
    static Refusal refusal(Service service, String namespace, String name, String appNamespace) {
        if (namespace.equals(appNamespace)) {
            return null;
        }
        String why;
        if (service == null) {
            why = "it does not exist";
        } else {
            Map<String, String> labels = service.getMetadata().getLabels();
            Map<String, String> annotations = service.getMetadata().getAnnotations();
            String mark = labels == null ? null : labels.get(Constants.FRONT_END_LABEL);
            String allowed = annotations == null ? null : annotations.get(Constants.FRONT_END_NAMESPACES_ANNOTATION);
            if (!Constants.FRONT_END_MARK.equals(mark)) {
                why = mark == null ? "it has no label " + Constants.FRONT_END_LABEL
                        : "its label " + Constants.FRONT_END_LABEL + " is '" + mark + "', not '" + Constants.FRONT_END_MARK + "'";
            } else if (allowed != null && !namespaces(allowed).contains(appNamespace)) {
                why = "its annotation " + Constants.FRONT_END_NAMESPACES_ANNOTATION + " lists "
                        + (namespaces(allowed).isEmpty() ? "no namespace" : String.join(", ", namespaces(allowed)))
                        + ", not " + appNamespace;
            } else {
                return null;
            }
        }
        String svc = "Service " + namespace + "/" + name;
        return new Refusal(svc + " is not marked as a front end for namespace " + appNamespace + " (label "
                + Constants.FRONT_END_LABEL + "=" + Constants.FRONT_END_MARK
                + " on the Service, by its namespace's owner), or does not exist; the operator asks it nothing",
                svc + " named by traffic.controller of an app in namespace " + appNamespace + " is refused: " + why);
    }

    /** The annotation's namespaces: comma-separated, blanks ignored; an empty list admits none. */
    static List<String> namespaces(String annotation) {
        return Arrays.stream(annotation.split(",")).map(String::trim).filter(s -> !s.isEmpty()).toList();
    }
}
