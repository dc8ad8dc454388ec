package dev.zdt.operator.ingress;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;

import org.junit.jupiter.api.Test;

import dev.zdt.operator.api.v1alpha1.TrafficSpec;
import dev.zdt.operator.testing.Apps;

class IngressPolicyTest {

    private static TrafficSpec traffic(String yaml) {
        return Apps.parse(Apps.yaml("shop", yaml, "")).getSpec().getTraffic();
    }

    @Test
    void anApiUrlIsRefusedUnlessTheAdminListedIt() {
        TrafficSpec t = traffic("provider: traefik\nverify: ingress\napiUrl: http://10.0.0.1:9000/\n");
        assertThat(new IngressPolicy(List.of(), List.of()).refusal(t)).hasValueSatisfying(m -> assertThat(m)
                .contains("traffic.apiUrl http://10.0.0.1:9000/ is not on the operator's allow-list (empty)")
                .contains("traffic.controller").contains("ingress.allowedApiUrls"));
        assertThat(new IngressPolicy(List.of("HTTP://10.0.0.1:9000"), List.of()).refusal(t)).isEmpty();
        assertThat(new IngressPolicy(List.of("http://10.0.0.1:9001", "http://10.0.0.1:9000/api"), List.of()).refusal(t))
                .isPresent();
    }

    @Test
    void aPathIsPartOfTheUrlThatMustMatch() {
        TrafficSpec t = traffic("provider: traefik\nverify: ingress\napiUrl: http://lb.example/Traefik\n");
        assertThat(new IngressPolicy(List.of("http://LB.example/Traefik/"), List.of()).refusal(t)).isEmpty();
        assertThat(new IngressPolicy(List.of("http://lb.example/traefik"), List.of()).refusal(t)).isPresent();
    }

    @Test
    void aControllerNeedsNoAllowListButMayBeLimitedToNamespaces() {
        TrafficSpec t = traffic("""
                provider: traefik
                verify: ingress
                controller: {namespace: kube-system, service: traefik, port: traefik}
                """);
        assertThat(new IngressPolicy(List.of(), List.of()).refusal(t)).isEmpty();
        assertThat(new IngressPolicy(List.of(), List.of("kube-system", "ingress")).refusal(t)).isEmpty();
        assertThat(new IngressPolicy(List.of(), List.of("ingress")).refusal(t)).hasValueSatisfying(m -> assertThat(m)
                .contains("traffic.controller.namespace kube-system is not one of").contains("ingress.controllerNamespaces"));
    }

    @Test
    void otherVerifyModesAskNothing() {
        TrafficSpec t = traffic("provider: traefik\nverify: endpoints\napiUrl: http://10.0.0.1:9000\n");
        assertThat(new IngressPolicy(List.of(), List.of()).refusal(t)).isEmpty();
    }
}
