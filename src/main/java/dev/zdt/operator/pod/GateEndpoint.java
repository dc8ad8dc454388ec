package dev.zdt.operator.pod;

import dev.zdt.operator.Constants;

/** The address the kubelet calls for a pod's preStop hook. */
public record GateEndpoint(String host, int port) {

    /** The path for all pods of one app: the kubelet does not expand variables in httpGet hooks. */
    public static String appPath(String namespace, String app) {
        return Constants.GATE_PATH + "/" + namespace + "/" + app;
    }

    public String url(String path) {
        return "http://" + host + ":" + port + path;
    }
}
