package dev.zdt.operator.testing;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

import io.fabric8.kubernetes.api.model.ServiceAccountBuilder;
import io.fabric8.kubernetes.api.model.authentication.TokenRequestBuilder;
import io.fabric8.kubernetes.api.model.rbac.ClusterRoleBindingBuilder;
import io.fabric8.kubernetes.api.model.rbac.ClusterRoleBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;

/**
 * A scraper as Prometheus is one: a ServiceAccount bound to a ClusterRole that allows get on the
 * non-resource URL /q/metrics (what the chart's {@code <release>-metrics-reader} grants), and a
 * token of it from the API server. Made once per API server.
 */
public final class MetricsReader {

    public static final String NAMESPACE = "default";
    public static final String NAME = "zdt-test-metrics-reader";
    private static final Map<String, String> TOKENS = new ConcurrentHashMap<>();

    private MetricsReader() {
    }

    /** A token of the scraper ServiceAccount, valid for an hour; {@code admin} may grant RBAC. */
    public static String token(KubernetesClient admin) {
        return TOKENS.computeIfAbsent(admin.getMasterUrl().toString(), url -> {
            admin.resource(new ClusterRoleBuilder().withNewMetadata().withName(NAME).endMetadata().addNewRule()
                    .withNonResourceURLs("/q/metrics").withVerbs("get").endRule().build()).serverSideApply();
            admin.resource(new ServiceAccountBuilder().withNewMetadata().withName(NAME).withNamespace(NAMESPACE)
                    .endMetadata().build()).serverSideApply();
            admin.resource(new ClusterRoleBindingBuilder().withNewMetadata().withName(NAME).endMetadata()
                    .withNewRoleRef().withApiGroup("rbac.authorization.k8s.io").withKind("ClusterRole").withName(NAME)
                    .endRoleRef().addNewSubject().withKind("ServiceAccount").withName(NAME).withNamespace(NAMESPACE)
                    .endSubject().build()).serverSideApply();
            return tokenOf(admin, NAMESPACE, NAME);
        });
    }

    /** A token of any ServiceAccount (made here when missing), for the API server's own audiences. */
    public static String tokenOf(KubernetesClient admin, String namespace, String serviceAccount) {
        admin.resource(new ServiceAccountBuilder().withNewMetadata().withName(serviceAccount).withNamespace(namespace)
                .endMetadata().build()).serverSideApply();
        return admin.serviceAccounts().inNamespace(namespace).withName(serviceAccount)
                .tokenRequest(new TokenRequestBuilder().withNewSpec().withExpirationSeconds(3600L).endSpec().build())
                .getStatus().getToken();
    }
}
