package dev.zdt.operator.reconcile;

import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.OwnerReference;

/**
 * An object with the name a child of the app needs exists and is not controlled by the app. The
 * operator leaves it as it is and says what to do; retrying cannot fix it, a rename or a deletion can.
 */
public class ChildConflictException extends RuntimeException {

    public ChildConflictException(String kind, HasMetadata existing, String appName) {
        super(kind + " " + existing.getMetadata().getName() + " already exists and " + controlledBy(existing)
                + "; the operator does not take it over and leaves it unchanged: rename the ZeroDowntimeApp "
                + appName + ", or delete the " + kind + " so that the operator creates its own");
    }

    private static String controlledBy(HasMetadata existing) {
        return existing.getMetadata().getOwnerReferences().stream()
                .filter(o -> Boolean.TRUE.equals(o.getController()))
                .findFirst()
                .map(ChildConflictException::describe)
                .orElse("has no controller");
    }

    private static String describe(OwnerReference o) {
        return "is controlled by " + o.getKind() + " " + o.getName() + " (uid " + o.getUid() + ")";
    }
}
