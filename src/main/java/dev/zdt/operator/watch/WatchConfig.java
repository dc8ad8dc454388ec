package dev.zdt.operator.watch;

import java.util.List;
import java.util.Optional;

import io.smallrye.config.ConfigMapping;
import io.smallrye.config.WithDefault;

/** Which namespaces the operator serves. */
@ConfigMapping(prefix = "zdt.watch")
public interface WatchConfig {

    /**
     * The namespaces whose ZeroDowntimeApps, pods and EndpointSlices the operator reads and acts on;
     * absent or empty: all. The reconciler's namespaces (QOSDK's) follow it, see application.properties.
     */
    Optional<List<String>> namespaces();

    /**
     * Objects per page when the gate's and warm-in's informers list (their first list and every
     * re-list after a watch expired). One answer for all 10,000 pods of 1,000 apps was more than
     * the chart's heap could decode at once (the scale benchmark's restart at 1,000 apps); pages
     * bound that peak. 0 lists everything in one answer.
     */
    @WithDefault("500")
    long listPageSize();
}
