package dev.zdt.operator.gate;

import jakarta.enterprise.context.ApplicationScoped;

import org.eclipse.microprofile.health.HealthCheck;
import org.eclipse.microprofile.health.HealthCheckResponse;
import org.eclipse.microprofile.health.Readiness;

/** A replica joins the gate Service once its informers can tell a pod of ours from a stranger. */
@Readiness
@ApplicationScoped
public class GateReadiness implements HealthCheck {

    private final DrainGate gate;

    public GateReadiness(DrainGate gate) {
        this.gate = gate;
    }

    @Override
    public HealthCheckResponse call() {
        return HealthCheckResponse.named("drain-gate").status(gate.synced()).withData("held", gate.held()).build();
    }
}
