package dev.zdt.operator.testing;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

import io.fabric8.kubernetes.client.KubernetesClient;

/**
 * The Gateway API standard CRDs, from the Go module {@code sigs.k8s.io/gateway-api} at the version
 * the harness's Traefik v3.6.23 is built with (its go.mod).
 */
public final class GatewayApiCrds {

    public static final String MODULE = "sigs.k8s.io/gateway-api@v1.4.0";
    /** The standard channel's kinds; Traefik's Gateway API provider watches them all. */
    private static final List<String> KINDS = List.of("gatewayclasses", "gateways", "httproutes", "grpcroutes",
            "referencegrants", "backendtlspolicies");

    private GatewayApiCrds() {
    }

    /** Applies the CRDs and waits until each is Established. */
    public static void install(KubernetesClient client) throws IOException, InterruptedException {
        Path dir = ModuleCrds.directory(MODULE).resolve(Path.of("config", "crd", "standard"));
        ModuleCrds.install(client, KINDS.stream().map(k -> dir.resolve("gateway.networking.k8s.io_" + k + ".yaml")).toList());
    }

    /** Deletes the CRDs (and with them every Gateway API object) and waits until they are gone. */
    public static void uninstall(KubernetesClient client) {
        for (String kind : KINDS) {
            client.apiextensions().v1().customResourceDefinitions().withName(kind + ".gateway.networking.k8s.io")
                    .withTimeout(60, TimeUnit.SECONDS).delete();
        }
    }
}
