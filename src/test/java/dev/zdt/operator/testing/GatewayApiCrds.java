package dev.zdt.operator.testing;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

import com.fasterxml.jackson.databind.ObjectMapper;

import io.fabric8.kubernetes.api.model.apiextensions.v1.CustomResourceDefinition;
import io.fabric8.kubernetes.client.KubernetesClient;

/**
 * The Gateway API standard CRDs, from the Go module {@code sigs.k8s.io/gateway-api} at the version
 * the harness's Traefik is built with (its go.mod), read from the Go module cache ({@code go mod
 * download}, as e2e/cluster/lib/build.sh fetches module sources; offline once cached).
 */
public final class GatewayApiCrds {

    public static final String MODULE = "sigs.k8s.io/gateway-api@v1.4.0";
    /** The standard channel's CRDs Traefik's Gateway API provider watches. */
    private static final List<String> KINDS = List.of("gatewayclasses", "gateways", "httproutes", "grpcroutes",
            "referencegrants", "backendtlspolicies");

    private GatewayApiCrds() {
    }

    /** The module's config/crd/standard directory, downloaded into the module cache if absent. */
    public static Path directory() throws IOException, InterruptedException {
        Process go = new ProcessBuilder("go", "mod", "download", "-json", MODULE).redirectErrorStream(true).start();
        String out = new String(go.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (go.waitFor() != 0) {
            throw new IllegalStateException("go mod download " + MODULE + " failed:\n" + out);
        }
        Path dir = Path.of(new ObjectMapper().readTree(out).path("Dir").asText(), "config", "crd", "standard");
        if (!Files.isDirectory(dir)) {
            throw new IllegalStateException("no " + dir + " in " + MODULE);
        }
        return dir;
    }

    /** Applies the CRDs and waits until each is Established. */
    public static void install(KubernetesClient client) throws IOException, InterruptedException {
        Path dir = directory();
        for (String kind : KINDS) {
            Path file = dir.resolve("gateway.networking.k8s.io_" + kind + ".yaml");
            CustomResourceDefinition crd = client.apiextensions().v1().customResourceDefinitions()
                    .load(Files.newInputStream(file)).item();
            client.resource(crd).forceConflicts().serverSideApply();
            client.apiextensions().v1().customResourceDefinitions().withName(crd.getMetadata().getName())
                    .waitUntilCondition(c -> c != null && c.getStatus() != null && c.getStatus().getConditions() != null
                            && c.getStatus().getConditions().stream()
                                    .anyMatch(x -> "Established".equals(x.getType()) && "True".equals(x.getStatus())),
                            30, TimeUnit.SECONDS);
        }
    }

    /** Deletes the CRDs (and with them every Gateway API object) and waits until they are gone. */
    public static void uninstall(KubernetesClient client) {
        for (String kind : KINDS) {
            client.apiextensions().v1().customResourceDefinitions().withName(kind + ".gateway.networking.k8s.io")
                    .withTimeout(60, TimeUnit.SECONDS).delete();
        }
    }
}
