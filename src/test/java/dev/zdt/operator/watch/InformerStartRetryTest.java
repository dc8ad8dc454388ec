package dev.zdt.operator.watch;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.time.Duration;

import jakarta.inject.Inject;

import org.junit.jupiter.api.Test;

import io.fabric8.kubernetes.api.model.NamespaceBuilder;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.ServiceAccountBuilder;
import io.fabric8.kubernetes.api.model.authentication.TokenRequestBuilder;
import io.fabric8.kubernetes.api.model.rbac.ClusterRoleBindingBuilder;
import io.fabric8.kubernetes.api.model.rbac.ClusterRoleBuilder;
import io.fabric8.kubernetes.client.Config;
import io.fabric8.kubernetes.client.ConfigBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import io.fabric8.kubernetes.client.informers.ResourceEventHandler;
import dev.zdt.operator.testing.KubeApiServerResource;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.junit.QuarkusTest;

/**
 * The gate's pod informer (shared with warm-in) whose first list fails keeps trying, and syncs
 * once the list is allowed: a replica started while the API server refuses or times out its list
 * (issue 18: the restarted standby of the 100-app run) is not ready meanwhile, and is not stopped.
 * The refusal here is RBAC's (a ServiceAccount not yet granted to list pods), on the real API server.
 */
@QuarkusTest
@QuarkusTestResource(value = KubeApiServerResource.class, restrictToAnnotatedClass = false)
class InformerStartRetryTest {

    @Inject
    KubernetesClient admin;

    @Inject
    Watched watched;

    @Test
    void aRefusedFirstListIsRetriedUntilItIsAllowed() {
        String ns = "t-" + Long.toString(System.nanoTime(), 36);
        String role = "zdt-test-pods-" + ns;
        admin.resource(new NamespaceBuilder().withNewMetadata().withName(ns).endMetadata().build()).create();
        admin.resource(new ServiceAccountBuilder().withNewMetadata().withName("late").withNamespace(ns).endMetadata()
                .build()).create();
        String token = admin.serviceAccounts().inNamespace(ns).withName("late")
                .tokenRequest(new TokenRequestBuilder().withNewSpec().withExpirationSeconds(600L).endSpec().build())
                .getStatus().getToken();
        // Only the token: nothing of the admin's kubeconfig (its client certificate would win).
        Config config = new ConfigBuilder(Config.empty()).withMasterUrl(admin.getMasterUrl().toString())
                .withTrustCerts(true).withOauthToken(token).build();
        ManagedPods pods = null;
        // Counts the API server's refusals of the pod list, as the informer's client receives them.
        java.util.concurrent.atomic.AtomicInteger refused = new java.util.concurrent.atomic.AtomicInteger();
        io.fabric8.kubernetes.client.http.Interceptor counter = new io.fabric8.kubernetes.client.http.Interceptor() {
            @Override
            public void after(io.fabric8.kubernetes.client.http.HttpRequest request,
                    io.fabric8.kubernetes.client.http.HttpResponse<?> response,
                    io.fabric8.kubernetes.client.http.AsyncBody.Consumer<java.util.List<java.nio.ByteBuffer>> consumer) {
                if (response.code() == 403 && request.uri().getPath().endsWith("/pods")) {
                    refused.incrementAndGet();
                }
            }
        };
        try (KubernetesClient late = new KubernetesClientBuilder().withConfig(config)
                .withHttpClientBuilderConsumer(b -> b.addOrReplaceInterceptor("count-refusals", counter)).build()) {
            pods = new ManagedPods(late, watched);
            pods.watch(new ResourceEventHandler<Pod>() {
                @Override
                public void onAdd(Pod pod) {
                }

                @Override
                public void onUpdate(Pod before, Pod pod) {
                }

                @Override
                public void onDelete(Pod pod, boolean unknownFinalState) {
                }
            });
            // Refused twice: it tried again after the first refusal, and is still not synced, still running.
            await().atMost(Duration.ofSeconds(30)).until(() -> refused.get() >= 2);
            assertThat(pods.informer().hasSynced()).as("synced while every list is refused").isFalse();
            assertThat(pods.informer().isRunning()).as("the informer still runs").isTrue();

            admin.resource(new ClusterRoleBuilder().withNewMetadata().withName(role).endMetadata()
                    .addNewRule().withApiGroups("").withResources("pods").withVerbs("list", "watch").endRule().build())
                    .create();
            admin.resource(new ClusterRoleBindingBuilder().withNewMetadata().withName(role).endMetadata()
                    .withNewRoleRef().withApiGroup("rbac.authorization.k8s.io").withKind("ClusterRole").withName(role)
                    .endRoleRef().addNewSubject().withKind("ServiceAccount").withName("late").withNamespace(ns)
                    .endSubject().build()).create();
            ManagedPods started = pods;
            // fabric8's pauses between tries grow to 32 s at most.
            await().atMost(Duration.ofSeconds(60)).until(() -> started.informer().hasSynced());
        } finally {
            if (pods != null) {
                pods.stop();
            }
            admin.rbac().clusterRoleBindings().withName(role).delete();
            admin.rbac().clusterRoles().withName(role).delete();
            admin.namespaces().withName(ns).delete();
        }
    }
}
