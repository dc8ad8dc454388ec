package dev.zdt.operator.gate;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.time.Duration;
import java.util.Map;

import jakarta.inject.Inject;

import org.junit.jupiter.api.Test;

import dev.zdt.operator.Constants;
import io.fabric8.kubernetes.api.model.NamespaceBuilder;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import dev.zdt.operator.testing.KubeApiServerResource;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.junit.QuarkusTest;

/**
 * The pod cache every replica keeps (gate, warm-in, reconciler) holds pods without their managed
 * fields, which the API server returns with every pod and the operator never reads (issue 18: most
 * of the heap at 1,000 pods), and still holds everything else of the pod.
 */
@QuarkusTest
@QuarkusTestResource(value = KubeApiServerResource.class, restrictToAnnotatedClass = false)
class LeanCacheTest {

    @Inject
    KubernetesClient client;

    @Inject
    ManagedPods pods;

    @Test
    void cachedPodsCarryNoManagedFieldsButTheRestOfThePod() throws Exception {
        String ns = "lean-" + Long.toString(System.nanoTime(), 36);
        client.resource(new NamespaceBuilder().withNewMetadata().withName(ns).endMetadata().build()).create();
        try {
            client.resource(new PodBuilder().withNewMetadata().withName("web-1").withNamespace(ns)
                    .withLabels(Map.of(Constants.APP_LABEL, "web")).withAnnotations(Map.of("note", "kept")).endMetadata()
                    .withNewSpec().addNewContainer().withName("web").withImage("localhost/demo-app:dev").endContainer()
                    .endSpec().build()).create();
            Pod stored = client.pods().inNamespace(ns).withName("web-1").get();
            assertThat(stored.getMetadata().getManagedFields()).as("the API server's copy has managed fields").isNotEmpty();

            assertThat(pods.awaitSynced(Duration.ofSeconds(30))).isTrue();
            await().atMost(Duration.ofSeconds(30)).until(() -> !pods.ofApp(ns, "web").isEmpty());
            Pod cached = pods.ofApp(ns, "web").get(0);
            assertThat(cached.getMetadata().getManagedFields()).as("managed fields in the cache").isNullOrEmpty();
            assertThat(cached.getMetadata().getUid()).isEqualTo(stored.getMetadata().getUid());
            assertThat(cached.getMetadata().getResourceVersion()).isEqualTo(stored.getMetadata().getResourceVersion());
            assertThat(cached.getMetadata().getAnnotations()).containsEntry("note", "kept");
            assertThat(cached.getSpec().getContainers()).extracting(c -> c.getImage()).containsExactly("localhost/demo-app:dev");
        } finally {
            client.namespaces().withName(ns).delete();
        }
    }
}
