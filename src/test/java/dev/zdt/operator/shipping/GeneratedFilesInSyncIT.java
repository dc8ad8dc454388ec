package dev.zdt.operator.shipping;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import org.junit.jupiter.api.Test;

/**
 * The CRD is generated from the Java model at build time; the copies users install (deploy/crds,
 * the chart's crds/) must be that very file. `make crds` refreshes them.
 */
class GeneratedFilesInSyncIT {

    private static final String CRD = "zerodowntimeapps.zdt.dev-v1.yml";
    private final Path project = Path.of(System.getProperty("zdt.project.dir", "."));

    private String generated() throws IOException {
        Path file = project.resolve("target/kubernetes").resolve(CRD);
        assertThat(file).as("the build generates the CRD").exists();
        return Files.readString(file);
    }

    @Test
    void committedCrdMatchesTheGeneratedOne() throws IOException {
        assertThat(Files.readString(project.resolve("deploy/crds").resolve(CRD)))
                .as("deploy/crds/%s is stale: run `make crds` and commit it", CRD)
                .isEqualTo(generated());
    }

    @Test
    void chartCrdMatchesTheGeneratedOne() throws IOException {
        assertThat(Files.readString(project.resolve("deploy/helm/zdt-operator/crds").resolve(CRD)))
                .as("deploy/helm/zdt-operator/crds/%s is stale: run `make crds` and commit it", CRD)
                .isEqualTo(generated());
    }
}
