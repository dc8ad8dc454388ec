package dev.zdt.operator.pod;

import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.EnvVar;
import io.fabric8.kubernetes.api.model.HTTPHeader;
import io.fabric8.kubernetes.api.model.apps.Deployment;

/**
 * Where an app's gate token ({@link GateKeys}) is found in its pods: httpGet mode's hook header,
 * or the {@link #ENV} variable of pods rendered before pod identity ({@link PodIdentity}). Pure.
 */
public final class GateToken {

    /** The serving container's variable the drain helper and the exec script send. */
    public static final String ENV = "ZDT_GATE_TOKEN";
    public static final String HEADER = "Authorization";
    public static final String BEARER = "Bearer ";

    private GateToken() {
    }

    /** The token a Deployment's pods carry (in a container's environment or an httpGet hook's header), or null. */
    public static String renderedIn(Deployment deployment) {
        if (deployment.getSpec() == null || deployment.getSpec().getTemplate() == null
                || deployment.getSpec().getTemplate().getSpec() == null) {
            return null;
        }
        for (Container c : deployment.getSpec().getTemplate().getSpec().getContainers()) {
            if (c.getEnv() != null) {
                for (EnvVar e : c.getEnv()) {
                    if (ENV.equals(e.getName()) && e.getValue() != null) {
                        return e.getValue();
                    }
                }
            }
            if (c.getLifecycle() != null && c.getLifecycle().getPreStop() != null
                    && c.getLifecycle().getPreStop().getHttpGet() != null
                    && c.getLifecycle().getPreStop().getHttpGet().getHttpHeaders() != null) {
                for (HTTPHeader h : c.getLifecycle().getPreStop().getHttpGet().getHttpHeaders()) {
                    if (HEADER.equalsIgnoreCase(h.getName()) && h.getValue() != null && h.getValue().startsWith(BEARER)) {
                        return h.getValue().substring(BEARER.length());
                    }
                }
            }
        }
        return null;
    }
}
