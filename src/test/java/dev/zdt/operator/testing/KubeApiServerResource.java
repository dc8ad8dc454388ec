package dev.zdt.operator.testing;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import io.fabric8.kubeapitest.KubeAPIServer;
import io.fabric8.kubernetes.api.model.apiextensions.v1.CustomResourceDefinition;
import io.fabric8.kubernetes.client.Config;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import io.fabric8.kubeapitest.KubeAPIServerConfigBuilder;
import io.quarkus.test.common.QuarkusTestResourceLifecycleManager;

/**
 * A real etcd + kube-apiserver for the operator under test, from the binaries that
 * {@code e2e/cluster/zdt-cluster build api} caches (never downloaded by the test).
 */
public class KubeApiServerResource implements QuarkusTestResourceLifecycleManager {

    private KubeAPIServer server;

    @Override
    public Map<String, String> start() {
        String dir = System.getProperty("zdt.kubeapitest.dir",
                System.getProperty("user.home") + "/.cache/zdt/kubeapitest");
        String version = System.getProperty("zdt.kubernetes.version", "1.34.10");
        Path binaries = Path.of(dir, "k8s", version + "-linux-amd64", "kube-apiserver");
        if (!Files.isExecutable(binaries)) {
            throw new IllegalStateException("no kube-apiserver at " + binaries
                    + ": run `e2e/cluster/zdt-cluster build api` first (make test does)");
        }
        server = new KubeAPIServer(KubeAPIServerConfigBuilder.anAPIServerConfig()
                .withTestDir(dir)
                .withApiServerVersion(version)
                .withOfflineMode(true)
                .withUpdateKubeConfig(false)
                .withStartupTimeout(60_000)
                .build());
        server.start();
        try {
            Path kubeconfig = Files.createTempFile("zdt-test-kubeconfig", ".yaml");
            Files.writeString(kubeconfig, server.getKubeConfigYaml());
            kubeconfig.toFile().deleteOnExit();
            // fabric8 reads this before Quarkus's own kubernetes-client properties.
            System.setProperty("kubeconfig", kubeconfig.toString());
            establishCrd(server.getKubeConfigYaml());
            return Map.of("zdt.test.kubeconfig", kubeconfig.toString());
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    /**
     * The CRDs, established before the operator starts, as helm installs it before the operator in a
     * cluster. Left to the operator's own apply at startup, its informer sometimes asked for the new
     * resource before the API server served it (404), and the operator stopped: seen once in a dozen
     * starts of the gate benchmark.
     */
    private static void establishCrd(String kubeconfigYaml) throws IOException {
        for (String file : new String[] { "zerodowntimeapps.zdt.dev-v1.yml", "drainpolicies.zdt.dev-v1.yml" }) {
            establish(kubeconfigYaml, Path.of(System.getProperty("zdt.project.dir", "."), "deploy", "crds", file));
        }
    }

    private static void establish(String kubeconfigYaml, Path crd) throws IOException {
        try (KubernetesClient client = new KubernetesClientBuilder().withConfig(Config.fromKubeconfig(kubeconfigYaml))
                .build()) {
            CustomResourceDefinition applied = client.apiextensions().v1().customResourceDefinitions()
                    .load(Files.newInputStream(crd)).serverSideApply();
            client.apiextensions().v1().customResourceDefinitions().withName(applied.getMetadata().getName())
                    .waitUntilCondition(c -> c != null && c.getStatus() != null && c.getStatus().getConditions() != null
                            && c.getStatus().getConditions().stream()
                            .anyMatch(x -> "Established".equals(x.getType()) && "True".equals(x.getStatus())),
                            30, TimeUnit.SECONDS);
        }
    }

    @Override
    public void stop() {
        if (server != null) {
            server.stop();
        }
    }
}
