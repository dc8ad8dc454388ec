package dev.zdt.operator.api;

/**
 * A ZeroDowntimeApp spec that the API server accepted but that cannot be turned into a safe
 * Deployment (e.g. a hold override below the propagation time). Reported as the InvalidSpec
 * reason, with a message that says what to fix; the existing children are left untouched.
 */
public class InvalidSpecException extends RuntimeException {

    public InvalidSpecException(String message) {
        super(message);
    }
}
