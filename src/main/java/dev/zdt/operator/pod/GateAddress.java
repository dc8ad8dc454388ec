package dev.zdt.operator.pod;

import java.util.concurrent.atomic.AtomicReference;

import jakarta.enterprise.context.ApplicationScoped;

import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import dev.zdt.operator.GateConfig;

/**
 * Resolves the gate Service's ClusterIP once and remembers it: the ClusterIP of a Service never
 * changes while the Service exists, and every pod template of every app carries it.
 */
@ApplicationScoped
public class GateAddress {

    private final GateConfig config;
    private final KubernetesClient client;
    private final AtomicReference<GateEndpoint> resolved = new AtomicReference<>();

    public GateAddress(GateConfig config, KubernetesClient client) {
        this.config = config;
        this.client = client;
    }

    /** @throws GateUnavailableException when the gate Service cannot be found */
    public GateEndpoint endpoint() {
        GateEndpoint known = resolved.get();
        if (known != null) {
            return known;
        }
        if (config.host().isPresent()) {
            resolved.compareAndSet(null, new GateEndpoint(config.host().get(), config.port()));
            return resolved.get();
        }
        String namespace = config.namespace().orElseGet(client::getNamespace);
        Service service;
        try {
            service = client.services().inNamespace(namespace).withName(config.serviceName()).get();
        } catch (KubernetesClientException e) {
            throw new GateUnavailableException("cannot read the gate Service " + namespace + "/"
                    + config.serviceName() + ": " + e.getMessage());
        }
        if (service == null || service.getSpec() == null || service.getSpec().getClusterIP() == null
                || "None".equals(service.getSpec().getClusterIP())) {
            throw new GateUnavailableException("the gate Service " + namespace + "/" + config.serviceName()
                    + " does not exist or has no ClusterIP; install the operator with its chart, or set zdt.gate.host");
        }
        resolved.compareAndSet(null, new GateEndpoint(service.getSpec().getClusterIP(), config.port()));
        return resolved.get();
    }
}
