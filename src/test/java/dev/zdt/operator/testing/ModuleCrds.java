package dev.zdt.operator.testing;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

import com.fasterxml.jackson.databind.ObjectMapper;

import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.apiextensions.v1.CustomResourceDefinition;
import io.fabric8.kubernetes.client.KubernetesClient;

/**
 * CRDs shipped in a Go module's source, read from the Go module cache ({@code go mod download},
 * as e2e/cluster/lib/build.sh fetches module sources; no network once cached): the API the test's
 * front end really watches, at the version the harness builds it from.
 */
public final class ModuleCrds {

    private ModuleCrds() {
    }

    /** The module's source directory, downloaded into the module cache if absent. */
    public static Path directory(String module) throws IOException, InterruptedException {
        Process go = new ProcessBuilder("go", "mod", "download", "-json", module).redirectErrorStream(true).start();
        String out = new String(go.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (go.waitFor() != 0) {
            throw new IllegalStateException("go mod download " + module + " failed:\n" + out);
        }
        Path dir = Path.of(new ObjectMapper().readTree(out).path("Dir").asText());
        if (!Files.isDirectory(dir)) {
            throw new IllegalStateException("go mod download " + module + " named no directory:\n" + out);
        }
        return dir;
    }

    /** Applies every CRD in the files (one or many documents each) and waits until each is Established. */
    public static void install(KubernetesClient client, List<Path> files) throws IOException {
        for (Path file : files) {
            List<HasMetadata> items;
            try (InputStream in = Files.newInputStream(file)) {
                items = client.load(in).items();
            }
            for (HasMetadata item : items) {
                if (!(item instanceof CustomResourceDefinition crd)) {
                    continue;
                }
                client.resource(crd).forceConflicts().serverSideApply();
                client.apiextensions().v1().customResourceDefinitions().withName(crd.getMetadata().getName())
                        .waitUntilCondition(c -> c != null && c.getStatus() != null && c.getStatus().getConditions() != null
                                && c.getStatus().getConditions().stream()
                                        .anyMatch(x -> "Established".equals(x.getType()) && "True".equals(x.getStatus())),
                                30, TimeUnit.SECONDS);
            }
        }
    }
}
