package dev.zdt.operator.gate;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;

import jakarta.inject.Inject;

import org.junit.jupiter.api.Test;

import dev.zdt.operator.Constants;
import io.fabric8.kubernetes.api.model.NamespaceBuilder;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import io.fabric8.kubernetes.client.http.BasicBuilder;
import io.fabric8.kubernetes.client.http.HttpRequest;
import io.fabric8.kubernetes.client.http.Interceptor;
import io.fabric8.kubernetes.client.informers.SharedIndexInformer;
import dev.zdt.operator.testing.KubeApiServerResource;
import dev.zdt.operator.watch.ManagedPods;
import dev.zdt.operator.watch.WatchConfig;
import dev.zdt.operator.watch.Watched;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.junit.QuarkusTest;

/**
 * The pod cache every replica keeps (gate, warm-in, reconciler) holds pods without their managed
 * fields, which the API server returns with every pod and the operator never reads (issue 18: most
 * of the heap at 1,000 pods), and slim: metadata whole, of spec and status only what a reader
 * reads (LeanPodTest checks each reader). Its informers list in
 * pages, so that a first list of 10,000 pods is not one answer decoded at once.
 */
@QuarkusTest
@QuarkusTestResource(value = KubeApiServerResource.class, restrictToAnnotatedClass = false)
class LeanCacheTest {

    @Inject
    KubernetesClient client;

    @Inject
    ManagedPods pods;

    @Test
    void cachedPodsCarryNoManagedFieldsAndOnlyThePartsTheOperatorReads() throws Exception {
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
            assertThat(cached.getSpec().getContainers()).extracting(c -> c.getName()).containsExactly("web");
            assertThat(cached.getSpec().getContainers()).extracting(c -> c.getImage())
                    .as("the slim pod keeps no container image (kube/Lean)").containsOnlyNulls();
        } finally {
            client.namespaces().withName(ns).delete();
        }
    }

    @Test
    void informersListInPagesAndCacheEveryPage() throws Exception {
        String ns = "paged-" + Long.toString(System.nanoTime(), 36);
        String label = "zdt.dev/paged-" + Long.toString(System.nanoTime(), 36);
        List<String> requests = new CopyOnWriteArrayList<>();
        Interceptor recorder = new Interceptor() {
            @Override
            public void before(BasicBuilder builder, HttpRequest request, RequestTags tags) {
                requests.add(request.uri().getRawQuery() == null ? "" : request.uri().getRawQuery());
            }
        };
        client.resource(new NamespaceBuilder().withNewMetadata().withName(ns).endMetadata().build()).create();
        try (KubernetesClient recording = new KubernetesClientBuilder().withConfig(client.getConfiguration())
                .withHttpClientBuilderConsumer(b -> b.addOrReplaceInterceptor("record", recorder)).build()) {
            for (int i = 1; i <= 5; i++) {
                client.resource(new PodBuilder().withNewMetadata().withName("web-" + i).withNamespace(ns)
                        .withLabels(Map.of(label, "x")).endMetadata()
                        .withNewSpec().addNewContainer().withName("web").withImage("localhost/demo-app:dev").endContainer()
                        .endSpec().build()).create();
            }
            Watched watched = new Watched(pageSize(2));
            SharedIndexInformer<Pod> informer = watched.informerWithLabel(recording.pods(), label);
            try {
                informer.start().toCompletableFuture().get(30, java.util.concurrent.TimeUnit.SECONDS);
                assertThat(informer.getStore().list()).extracting(p -> p.getMetadata().getName())
                        .containsExactlyInAnyOrder("web-1", "web-2", "web-3", "web-4", "web-5");
                assertThat(informer.getStore().list()).allSatisfy(
                        p -> assertThat(p.getMetadata().getManagedFields()).isNullOrEmpty());
                List<String> lists = requests.stream().filter(q -> !q.contains("watch=true")).toList();
                assertThat(lists).as("the list requests: 5 pods in pages of 2").hasSize(3)
                        .allSatisfy(q -> assertThat(q).contains("limit=2"));
                assertThat(lists.subList(1, 3)).allSatisfy(q -> assertThat(q).contains("continue="));
            } finally {
                informer.stop();
            }
        } finally {
            client.namespaces().withName(ns).delete();
        }
    }

    @Test
    void aNegativePageSizeIsRefusedWithItsName() {
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> new Watched(pageSize(-1)))
                .hasMessageContaining("zdt.watch.list-page-size");
    }

    private static WatchConfig pageSize(long size) {
        return new WatchConfig() {
            @Override
            public Optional<List<String>> namespaces() {
                return Optional.empty();
            }

            @Override
            public long listPageSize() {
                return size;
            }
        };
    }
}
