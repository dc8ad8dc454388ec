package dev.zdt.operator.shipping;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import org.junit.jupiter.api.Test;

import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.api.model.rbac.ClusterRole;
import io.fabric8.kubernetes.client.utils.Serialization;

/** The chart lints and renders what an operator install needs, with the helm built by e2e/cluster. */
class ChartIT {

    private final Path project = Path.of(System.getProperty("zdt.project.dir", "."));
    private final Path chart = project.resolve("deploy/helm/zdt-operator");

    private Path helm() throws IOException {
        Path bin = Path.of(System.getProperty("zdt.cache.dir", System.getProperty("user.home") + "/.cache/zdt"), "bin");
        try (Stream<Path> dirs = Files.list(bin)) {
            return dirs.filter(d -> d.getFileName().toString().startsWith("helm-")).map(d -> d.resolve("helm"))
                    .filter(Files::isExecutable).findFirst()
                    .orElseThrow(() -> new AssertionError("no helm under " + bin + ": run `e2e/cluster/zdt-cluster build all`"));
        }
    }

    private String run(String... args) throws IOException, InterruptedException {
        List<String> command = new ArrayList<>(List.of(helm().toString()));
        command.addAll(List.of(args));
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes());
        assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
        assertThat(p.exitValue()).as("helm %s:%n%s", String.join(" ", args), out).isZero();
        return out;
    }

    @Test
    void chartLints() throws Exception {
        assertThat(run("lint", "--strict", chart.toString())).contains("0 chart(s) failed");
    }

    @Test
    void chartRendersTwoReplicasLeastPrivilegeRbacAndTheGateService() throws Exception {
        String yaml = run("template", "zdt", chart.toString(), "--namespace", "zdt-system");
        List<HasMetadata> objects = new ArrayList<>();
        for (String doc : yaml.split("(?m)^---\\s*$")) {
            if (doc.lines().anyMatch(l -> l.startsWith("kind:"))) {
                objects.add(Serialization.unmarshal(doc, HasMetadata.class));
            }
        }

        Deployment operator = objects.stream().filter(Deployment.class::isInstance).map(Deployment.class::cast)
                .findFirst().orElseThrow();
        assertThat(operator.getSpec().getReplicas()).isEqualTo(2);
        assertThat(operator.getSpec().getTemplate().getSpec().getContainers().get(0).getReadinessProbe().getHttpGet()
                .getPath()).isEqualTo("/q/health/ready");
        assertThat(objects).anySatisfy(o -> {
            assertThat(o.getKind()).isEqualTo("Service");
            assertThat(o.getMetadata().getName()).isEqualTo("zdt-zdt-operator-gate");
        });
        ClusterRole role = objects.stream().filter(ClusterRole.class::isInstance).map(ClusterRole.class::cast)
                .findFirst().orElseThrow();
        assertThat(role.getRules()).allSatisfy(rule -> {
            assertThat(rule.getVerbs()).doesNotContain("*");
            assertThat(rule.getResources()).doesNotContain("*");
            assertThat(rule.getApiGroups()).doesNotContain("*");
        });
        // The gate and the status aggregator only read pods: nothing in the chart lets the operator change them.
        assertThat(role.getRules()).filteredOn(r -> r.getResources().contains("pods"))
                .allSatisfy(r -> assertThat(r.getVerbs()).containsOnly("get", "list", "watch"));
    }
}
