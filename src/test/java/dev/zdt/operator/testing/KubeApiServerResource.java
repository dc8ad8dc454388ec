package dev.zdt.operator.testing;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

import io.fabric8.kubeapitest.KubeAPIServer;
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
            return Map.of("zdt.test.kubeconfig", kubeconfig.toString());
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    @Override
    public void stop() {
        if (server != null) {
            server.stop();
        }
    }
}
