package dev.zdt.operator.ingress;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class TraefikVerifierTest {

    @Test
    void namesServicesAsTraefiksKubernetesIngressProviderDoes() {
        assertThat(TraefikVerifier.serviceName("t-1", "shop", "80")).isEqualTo("t-1-shop-80@kubernetes");
        assertThat(TraefikVerifier.serviceName("team.a", "shop_v2", "http")).isEqualTo("team-a-shop-v2-http@kubernetes");
    }

    @Test
    void readsTheHostOfAServerUrl() {
        assertThat(TraefikVerifier.hostOf("http://10.244.0.7:8080")).isEqualTo("10.244.0.7");
        assertThat(TraefikVerifier.hostOf("http://[fd00::7]:8080")).isEqualTo("fd00::7");
        assertThat(TraefikVerifier.hostOf(null)).isNull();
    }
}
