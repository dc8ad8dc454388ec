package dev.zdt.operator.pod;

import java.util.List;

import dev.zdt.operator.api.v1alpha1.DrainSpec;
import io.fabric8.kubernetes.api.model.HTTPHeader;
import io.fabric8.kubernetes.api.model.IntOrString;
import io.fabric8.kubernetes.api.model.LifecycleHandler;
import io.fabric8.kubernetes.api.model.LifecycleHandlerBuilder;

/** The serving container's preStop hook in the modes that replace it outright (gate mode: {@link DrainHelper}). */
public final class PreStopHooks {

    private PreStopHooks() {
    }

    /**
     * @param gate the gate's address; only used in gate and exec modes
     * @param token the app's gate token, for httpGet mode's fixed header (the other modes send the pod's own)
     */
    public static LifecycleHandler forMode(DrainSpec.Mode mode, int holdSeconds, GateEndpoint gate, String token,
            String namespace, String app) {
        return switch (mode) {
            case GATE -> throw new IllegalArgumentException("gate mode's hook is rendered by DrainHelper");
            // The kubelet's hook client has no timeout of its own; the gate answers by the hold at the latest.
            case HTTP_GET -> new LifecycleHandlerBuilder().withNewHttpGet()
                    .withHost(gate.host())
                    .withPort(new IntOrString(gate.port()))
                    .withPath(GateEndpoint.appPath(namespace, app))
                    .withScheme("HTTP")
                    // The kubelet sends static headers only: the token is written into the hook.
                    .withHttpHeaders(token == null ? List.of()
                            : List.of(new HTTPHeader(GateToken.HEADER, GateToken.BEARER + token)))
                    .endHttpGet().build();
            case SLEEP -> new LifecycleHandlerBuilder().withNewSleep().withSeconds((long) holdSeconds).endSleep().build();
            case EXEC -> new LifecycleHandlerBuilder().withNewExec()
                    .withCommand(List.of("/bin/sh", "-c", execScript(holdSeconds, gate, namespace, app)))
                    .endExec().build();
        };
    }

    /**
     * Calls the gate for this very pod ($HOSTNAME is the pod name); if the gate cannot be asked
     * (no client in the image, operator down), sleeps what is left of the hold instead. One try
     * only: GNU wget otherwise retries after each timeout, and every retry is a new call that the
     * gate may hold for a whole hold again, so a gate that accepts and never answers would keep the
     * hook running for several holds. Debian's busybox wget crashes on -T; the script
     * then sleeps the hold. The pod proves who it is with its projected token ({@link PodIdentity}),
     * read from the file when the hook runs (the kubelet renews it); without the file no header is
     * sent, the gate refuses, and the script sleeps the hold.
     */
    public static String execScript(int holdSeconds, GateEndpoint gate, String namespace, String app) {
        String url = gate.url(GateEndpoint.appPath(namespace, app)) + "/$HOSTNAME";
        String authorization = "\"" + GateToken.HEADER + ": " + GateToken.BEARER + "$token\" ";
        String header = "--header " + authorization;
        String curlHeader = "-H " + authorization;
        return "start=$(date +%s); token=$(cat " + PodIdentity.TOKEN_FILE + " 2>/dev/null); "
                + "if command -v wget >/dev/null 2>&1; then wget -q -t 1 -T " + holdSeconds + " " + header
                + "-O /dev/null \"" + url + "\" && exit 0; "
                + "elif command -v curl >/dev/null 2>&1; then curl -fsS -m " + holdSeconds + " " + curlHeader
                + "-o /dev/null \"" + url + "\" && exit 0; fi; "
                + "left=$((" + holdSeconds + " - ($(date +%s) - start))); "
                + "[ \"$left\" -gt 0 ] && sleep \"$left\"; exit 0";
    }
}
