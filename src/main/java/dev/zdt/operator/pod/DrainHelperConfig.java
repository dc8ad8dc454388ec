package dev.zdt.operator.pod;

import io.smallrye.config.ConfigMapping;
import io.smallrye.config.WithDefault;

/** The image that carries the static drain helper which gate-mode pods run as their preStop hook. */
@ConfigMapping(prefix = "zdt.drain-helper")
public interface DrainHelperConfig {

    /** Image whose only file is the static helper at {@code /zdt-drain}; the chart sets it. */
    @WithDefault("localhost/zdt-drain:dev")
    String image();

    /** imagePullPolicy of the init container that copies the helper into the pod. */
    @WithDefault("IfNotPresent")
    String pullPolicy();
}
