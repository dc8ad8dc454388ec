package dev.zdt.operator.shipping;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The CRDs are generated from the Java model at build time; the copies users install (deploy/crds,
 * the chart's crds/) must be those very files. `make crds` refreshes them.
 */
class GeneratedFilesInSyncIT {

    private final Path project = Path.of(System.getProperty("zdt.project.dir", "."));

    private String generated(String crd) throws IOException {
        Path file = project.resolve("target/kubernetes").resolve(crd);
        assertThat(file).as("the build generates the CRD").exists();
        return Files.readString(file);
    }

    @ParameterizedTest
    @ValueSource(strings = { "zerodowntimeapps.zdt.dev-v1.yml", "drainpolicies.zdt.dev-v1.yml" })
    void committedCrdMatchesTheGeneratedOne(String crd) throws IOException {
        assertThat(Files.readString(project.resolve("deploy/crds").resolve(crd)))
                .as("deploy/crds/%s is stale: run `make crds` and commit it", crd)
                .isEqualTo(generated(crd));
    }

    @ParameterizedTest
    @ValueSource(strings = { "zerodowntimeapps.zdt.dev-v1.yml", "drainpolicies.zdt.dev-v1.yml" })
    void chartCrdMatchesTheGeneratedOne(String crd) throws IOException {
        assertThat(Files.readString(project.resolve("deploy/helm/zdt-operator/crds").resolve(crd)))
                .as("deploy/helm/zdt-operator/crds/%s is stale: run `make crds` and commit it", crd)
                .isEqualTo(generated(crd));
    }
}
