package dev.zdt.operator.pod;

/** The gate's address is unknown, so a gate-mode Deployment cannot be written. */
public class GateUnavailableException extends RuntimeException {

    public GateUnavailableException(String message) {
        super(message);
    }
}
