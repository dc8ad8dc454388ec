package dev.zdt.operator.reconcile;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.ZonedDateTime;

import jakarta.inject.Inject;

import org.junit.jupiter.api.Test;

import dev.zdt.operator.testing.KubeApiServerResource;
import io.fabric8.kubernetes.api.model.NamespaceBuilder;
import io.fabric8.kubernetes.api.model.coordination.v1.Lease;
import io.fabric8.kubernetes.api.model.coordination.v1.LeaseBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.junit.QuarkusTest;

/** A stopping leader hands its Lease back, and only its own. */
@QuarkusTest
@QuarkusTestResource(value = KubeApiServerResource.class, restrictToAnnotatedClass = false)
class LeaseReleaseTest {

    @Inject
    KubernetesClient client;

    private Lease lease(String ns, String holder) {
        return client.resource(new LeaseBuilder().withNewMetadata().withName("zdt-leader").withNamespace(ns).endMetadata()
                .withNewSpec().withHolderIdentity(holder).withLeaseDurationSeconds(60)
                .withRenewTime(ZonedDateTime.now()).withAcquireTime(ZonedDateTime.now()).withLeaseTransitions(3)
                .endSpec().build()).create();
    }

    private String namespace() {
        String ns = "lease-" + Long.toString(System.nanoTime(), 36);
        client.resource(new NamespaceBuilder().withNewMetadata().withName(ns).endMetadata().build()).create();
        return ns;
    }

    @Test
    void theHolderMarksItsLeaseFreeForTheNextLeader() {
        String ns = namespace();
        lease(ns, "operator-a");
        assertThat(LeaderElection.release(client, ns, "zdt-leader", "operator-a")).isTrue();
        Lease after = client.leases().inNamespace(ns).withName("zdt-leader").get();
        assertThat(after.getSpec().getHolderIdentity()).isNull();
        assertThat(after.getSpec().getLeaseDurationSeconds()).isEqualTo(1);
        assertThat(after.getSpec().getLeaseTransitions()).as("the history is kept").isEqualTo(3);
    }

    @Test
    void aLeaseAnotherReplicaHoldsIsLeftAlone() {
        String ns = namespace();
        Lease before = lease(ns, "operator-b");
        assertThat(LeaderElection.release(client, ns, "zdt-leader", "operator-a")).isFalse();
        Lease after = client.leases().inNamespace(ns).withName("zdt-leader").get();
        assertThat(after.getSpec().getHolderIdentity()).isEqualTo("operator-b");
        assertThat(after.getMetadata().getResourceVersion()).isEqualTo(before.getMetadata().getResourceVersion());
        assertThat(LeaderElection.release(client, ns, "no-such-lease", "operator-a")).isFalse();
    }
}
