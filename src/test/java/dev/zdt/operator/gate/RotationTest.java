package dev.zdt.operator.gate;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.Set;

import org.junit.jupiter.api.Test;

import io.fabric8.kubernetes.api.model.discovery.v1.Endpoint;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointBuilder;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointSlice;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointSliceBuilder;

class RotationTest {

    private static Endpoint endpoint(String pod, String ip, Boolean ready, Boolean serving) {
        EndpointBuilder b = new EndpointBuilder().withAddresses(ip).withNewConditions().withReady(ready)
                .withServing(serving).withTerminating(ready != null && !ready).endConditions();
        if (pod != null) {
            b.withNewTargetRef().withKind("Pod").withName(pod).endTargetRef();
        }
        return b.build();
    }

    private static EndpointSlice slice(Endpoint... endpoints) {
        return new EndpointSliceBuilder().withNewMetadata().withName("shop-abc").endMetadata().withAddressType("IPv4")
                .withEndpoints(endpoints).build();
    }

    @Test
    void aTerminatingPodThatStillServesIsNotInRotation() {
        Rotation r = Rotation.of(List.of(slice(endpoint("web-a", "10.0.0.1", false, true),
                endpoint("web-b", "10.0.0.2", true, true))));
        assertThat(r.offers("web-a", "10.0.0.1")).isFalse();
        assertThat(r.offers("web-b", "10.0.0.2")).isTrue();
        assertThat(r.readyOtherThan(Set.of("web-a"), Set.of("10.0.0.1"))).isEqualTo(1);
        assertThat(r.readyOtherThan(Set.of("web-b"), Set.of("10.0.0.2"))).isZero();
    }

    @Test
    void anUnsetReadyConditionMeansReady() {
        Rotation r = Rotation.of(List.of(slice(endpoint("web-a", "10.0.0.1", null, null))));
        assertThat(r.offers("web-a", "10.0.0.1")).isTrue();
    }

    @Test
    void aPodGoneFromTheSlicesIsOutOfRotation() {
        Rotation r = Rotation.of(List.of(slice(endpoint("web-b", "10.0.0.2", true, true))));
        assertThat(r.offers("web-a", "10.0.0.1")).isFalse();
    }

    @Test
    void endpointsWithoutATargetRefMatchByAddress() {
        Rotation r = Rotation.of(List.of(slice(endpoint(null, "10.0.0.1", true, true))));
        assertThat(r.offers("web-a", "10.0.0.1")).isTrue();
        assertThat(r.offers("web-a", "10.0.0.9")).isFalse();
    }

    @Test
    void aPodListedInTwoSlicesCountsOnce() {
        Rotation r = Rotation.of(List.of(slice(endpoint("web-a", "10.0.0.1", true, true)),
                slice(endpoint("web-a", "10.0.0.1", true, true))));
        assertThat(r.readyCount()).isEqualTo(1);
    }
}
