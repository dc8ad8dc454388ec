package dev.zdt.operator.gate;

import java.util.Optional;

import io.smallrye.config.ConfigMapping;
import io.smallrye.config.WithDefault;

/** Where pods reach the drain gate. */
@ConfigMapping(prefix = "zdt.gate")
public interface GateConfig {

    /** Name of the Service in front of the operator's gate port. */
    @WithDefault("zdt-operator-gate")
    String serviceName();

    /** Namespace of that Service; defaults to the operator's own namespace. */
    Optional<String> namespace();

    /**
     * Fixed address for the preStop httpGet, instead of the Service's ClusterIP. The kubelet sends
     * the hook from the node's network namespace, where ClusterIPs work through kube-proxy.
     */
    Optional<String> host();

    /** Port of the gate Service. */
    @WithDefault("80")
    int port();
}
