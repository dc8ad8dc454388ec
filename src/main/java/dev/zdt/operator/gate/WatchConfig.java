package dev.zdt.operator.gate;

import java.util.List;
import java.util.Optional;

import io.smallrye.config.ConfigMapping;

/** Which namespaces the operator serves. */
@ConfigMapping(prefix = "zdt.watch")
public interface WatchConfig {

    /**
     * The namespaces whose ZeroDowntimeApps, pods and EndpointSlices the operator reads and acts on;
     * absent or empty: all. The reconciler's namespaces (QOSDK's) follow it, see application.properties.
     */
    Optional<List<String>> namespaces();
}
