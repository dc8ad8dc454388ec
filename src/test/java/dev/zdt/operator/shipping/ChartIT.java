package dev.zdt.operator.shipping;

import static dev.zdt.operator.testing.Chart.all;
import static dev.zdt.operator.testing.Chart.one;
import static dev.zdt.operator.testing.Chart.render;
import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;

import org.junit.jupiter.api.Test;

import dev.zdt.operator.testing.Chart;
import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.ContainerPort;
import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.api.model.rbac.ClusterRole;

/** The chart lints and renders what an operator install needs, with the helm built by e2e/cluster. */
class ChartIT {

    private static Deployment operator(List<HasMetadata> objects) {
        return one(objects, Deployment.class, "zdt-zdt-operator");
    }

    private static Container container(List<HasMetadata> objects) {
        return operator(objects).getSpec().getTemplate().getSpec().getContainers().get(0);
    }

    @Test
    void chartLints() throws Exception {
        assertThat(Chart.helm("lint", "--strict", Chart.DIR.toString())).contains("0 chart(s) failed");
    }

    @Test
    void chartRendersTwoReplicasLeastPrivilegeRbacAndTheGateService() throws Exception {
        List<HasMetadata> objects = render();

        Deployment operator = operator(objects);
        assertThat(operator.getSpec().getReplicas()).isEqualTo(2);
        assertThat(container(objects).getReadinessProbe().getHttpGet().getPath()).isEqualTo("/q/health/ready");
        one(objects, Service.class, "zdt-zdt-operator-gate");
        ClusterRole role = one(objects, ClusterRole.class, "zdt-zdt-operator");
        assertThat(role.getRules()).allSatisfy(rule -> {
            assertThat(rule.getVerbs()).doesNotContain("*");
            assertThat(rule.getResources()).doesNotContain("*");
            assertThat(rule.getApiGroups()).doesNotContain("*");
        });
        // The gate and the status aggregator only read pods: nothing in the chart lets the operator change them.
        assertThat(role.getRules()).filteredOn(r -> r.getResources().contains("pods"))
                .allSatisfy(r -> assertThat(r.getVerbs()).containsOnly("get", "list", "watch"));
    }

    @Test
    void healthAndMetricsAreOnTheManagementPortWhichTheGateServiceDoesNotExpose() throws Exception {
        List<HasMetadata> objects = render("--set", "metrics.serviceMonitor.enabled=true");
        Container c = container(objects);
        assertThat(c.getPorts()).extracting(ContainerPort::getName, ContainerPort::getContainerPort)
                .containsExactlyInAnyOrder(org.assertj.core.groups.Tuple.tuple("http", 8080),
                        org.assertj.core.groups.Tuple.tuple("management", 9000));
        assertThat(c.getEnv()).anySatisfy(e -> {
            assertThat(e.getName()).isEqualTo("QUARKUS_MANAGEMENT_PORT");
            assertThat(e.getValue()).isEqualTo("9000");
        });
        for (var probe : List.of(c.getLivenessProbe(), c.getReadinessProbe(), c.getStartupProbe())) {
            assertThat(probe.getHttpGet().getPath()).startsWith("/q/health/");
            assertThat(probe.getHttpGet().getPort().getStrVal()).isEqualTo("management");
        }

        Service gate = one(objects, Service.class, "zdt-zdt-operator-gate");
        assertThat(gate.getSpec().getPorts()).singleElement().satisfies(p -> {
            assertThat(p.getName()).isEqualTo("gate");
            assertThat(p.getTargetPort().getStrVal()).isEqualTo("http");
        });
        Service metrics = one(objects, Service.class, "zdt-zdt-operator-metrics");
        assertThat(metrics.getSpec().getPorts()).singleElement().satisfies(p -> {
            assertThat(p.getName()).isEqualTo("http-metrics");
            assertThat(p.getPort()).isEqualTo(9000);
            assertThat(p.getTargetPort().getStrVal()).isEqualTo("management");
        });
        GenericKubernetesResource monitor = all(objects, GenericKubernetesResource.class).stream()
                .filter(o -> "ServiceMonitor".equals(o.getKind())).findFirst().orElseThrow();
        assertThat(monitor.<String>get("spec", "endpoints", 0, "port")).isEqualTo("http-metrics");
        assertThat(monitor.<String>get("spec", "endpoints", 0, "path")).isEqualTo("/q/metrics");
        assertThat(monitor.<String>get("spec", "selector", "matchLabels", "app.kubernetes.io/component"))
                .isEqualTo(metrics.getMetadata().getLabels().get("app.kubernetes.io/component"));
    }
}
