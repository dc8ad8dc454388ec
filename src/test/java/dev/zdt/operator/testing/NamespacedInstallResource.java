package dev.zdt.operator.testing;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Base64;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.NamespaceBuilder;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.authentication.TokenRequestBuilder;
import io.fabric8.kubernetes.client.Config;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;

/**
 * A real API server on which the chart's namespaced install is in place (watchNamespaces team-a,
 * team-b; release namespace zdt-system): its ServiceAccount, Roles, ClusterRoles and bindings, its
 * admission policy and its gate Service, as `helm template` renders them. The operator under test then talks to the API
 * server as that ServiceAccount, through a token of its own, so it can do only what the chart
 * grants it. {@code zdt.test.admin-kubeconfig} names a kubeconfig with every right, for the test.
 */
public class NamespacedInstallResource extends KubeApiServerResource {

    public static final String RELEASE_NAMESPACE = "zdt-system";
    public static final List<String> WATCHED = List.of("team-a", "team-b");
    public static final String UNWATCHED = "team-c";
    /** Names as the chart renders them for release "zdt". */
    public static final String SERVICE_ACCOUNT = "zdt-zdt-operator";
    public static final String GATE_SERVICE = "zdt-zdt-operator-gate";

    private static final Set<String> INSTALLED_KINDS = Set.of("ServiceAccount", "Role", "RoleBinding", "ClusterRole",
            "ClusterRoleBinding", "ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding");

    private String previousKubeconfig;

    @Override
    public Map<String, String> start() {
        previousKubeconfig = System.getProperty("kubeconfig");
        Map<String, String> config = new HashMap<>(super.start());
        String adminKubeconfig = config.get("zdt.test.kubeconfig");
        try (KubernetesClient admin = new KubernetesClientBuilder()
                .withConfig(Config.fromKubeconfig(Files.readString(Path.of(adminKubeconfig)))).build()) {
            for (String ns : List.of(RELEASE_NAMESPACE, WATCHED.get(0), WATCHED.get(1), UNWATCHED)) {
                admin.resource(new NamespaceBuilder().withNewMetadata().withName(ns).endMetadata().build()).create();
            }
            List<HasMetadata> rendered = Chart.render("--set", "watchNamespaces={" + String.join(",", WATCHED) + "}");
            for (HasMetadata o : rendered) {
                boolean gateService = o instanceof Service && GATE_SERVICE.equals(o.getMetadata().getName());
                if (INSTALLED_KINDS.contains(o.getKind()) || gateService) {
                    admin.resource(o).create();
                }
            }
            String token = admin.serviceAccounts().inNamespace(RELEASE_NAMESPACE).withName(SERVICE_ACCOUNT)
                    .tokenRequest(new TokenRequestBuilder().withNewSpec().withExpirationSeconds(3600L).endSpec().build())
                    .getStatus().getToken();
            Path operatorKubeconfig = Files.createTempFile("zdt-test-operator-kubeconfig", ".yaml");
            operatorKubeconfig.toFile().deleteOnExit();
            Files.writeString(operatorKubeconfig, kubeconfig(admin.getConfiguration(), token));
            // The operator's client (fabric8 reads this before Quarkus's properties) acts as the ServiceAccount.
            System.setProperty("kubeconfig", operatorKubeconfig.toString());
            config.put("zdt.test.admin-kubeconfig", adminKubeconfig);
            return config;
        } catch (IOException e) {
            throw new IllegalStateException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    private static String kubeconfig(Config admin, String token) throws IOException {
        String ca = admin.getCaCertData() != null ? admin.getCaCertData()
                : Base64.getEncoder().encodeToString(Files.readAllBytes(Path.of(admin.getCaCertFile())));
        return """
                apiVersion: v1
                kind: Config
                clusters:
                - name: test
                  cluster:
                    server: %s
                    certificate-authority-data: %s
                users:
                - name: operator
                  user:
                    token: %s
                contexts:
                - name: operator
                  context:
                    cluster: test
                    user: operator
                    namespace: %s
                current-context: operator
                """.formatted(admin.getMasterUrl(), ca, token, RELEASE_NAMESPACE);
    }

    @Override
    public void stop() {
        if (previousKubeconfig == null) {
            System.clearProperty("kubeconfig");
        } else {
            System.setProperty("kubeconfig", previousKubeconfig);
        }
        super.stop();
    }
}
