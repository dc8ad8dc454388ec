package dev.zdt.operator.ingress;

import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Comparator;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.stream.Stream;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

/**
 * A real Traefik process (the binary {@code e2e/cluster/zdt-cluster build all} caches) whose
 * Kubernetes Ingress provider watches the test's API server. It needs no kubelet: it reads
 * Ingresses, Services and EndpointSlices.
 */
public final class TraefikProcess implements AutoCloseable {

    private final Process process;
    public final String apiUrl;
    /** The non-loopback address its API listens on (an EndpointSlice refuses loopback addresses). */
    public final String host;
    public final int apiPort;
    /** The port of its "web" entrypoint (a Gateway's listener names it by this port). */
    public final int webPort;
    private final HttpClient http = HttpClient.newHttpClient();
    private final ObjectMapper json = new ObjectMapper();

    private TraefikProcess(Process process, String host, int apiPort, int webPort) {
        this.process = process;
        this.host = host;
        this.apiPort = apiPort;
        this.webPort = webPort;
        this.apiUrl = "http://" + host + ":" + apiPort;
    }

    /** Traefik's Kubernetes Ingress provider on the test's API server. */
    public static TraefikProcess start(Duration throttle) throws IOException {
        String kubeconfig = System.getProperty("kubeconfig");
        if (kubeconfig == null) {
            throw new IllegalStateException("no kubeconfig: KubeApiServerResource must start first");
        }
        return start(throttle, kubeconfig, "--providers.kubernetesIngress=true");
    }

    /**
     * Traefik's Kubernetes CRD (IngressRoute, {@code @kubernetescrd}) and Gateway API
     * ({@code @kubernetesgateway}) providers on the test's API server; their CRDs must be installed.
     */
    public static TraefikProcess startWithCrdAndGatewayProviders(Duration throttle) throws IOException {
        String kubeconfig = System.getProperty("kubeconfig");
        if (kubeconfig == null) {
            throw new IllegalStateException("no kubeconfig: KubeApiServerResource must start first");
        }
        return start(throttle, kubeconfig, "--providers.kubernetesCRD=true", "--providers.kubernetesGateway=true");
    }

    /** The Traefik version of {@link #binary()}, from its cache directory's name (traefik-v3.6.23). */
    public static String version() throws IOException {
        return binary().getParent().getFileName().toString().replaceFirst("^traefik-", "");
    }

    /** Traefik's file provider on a directory it watches: services named {@code <name>@file}, servers by URL. */
    public static TraefikProcess startWithFiles(Path directory) throws IOException {
        return start(Duration.ofMillis(100), null, "--providers.file.directory=" + directory,
                "--providers.file.watch=true");
    }

    private static TraefikProcess start(Duration throttle, String kubeconfig, String... providers) throws IOException {
        String host = hostAddress();
        int api = freePort();
        int web = freePort();
        Path log = Files.createTempFile(Path.of(System.getProperty("java.io.tmpdir")), "traefik-", ".log");
        List<String> command = new java.util.ArrayList<>(List.of(binary().toString(),
                "--global.checkNewVersion=false", "--global.sendAnonymousUsage=false",
                "--entryPoints.web.address=127.0.0.1:" + web,
                "--entryPoints.traefik.address=" + host + ":" + api,
                "--api=true", "--api.insecure=true", "--api.dashboard=false",
                "--ping=true", "--ping.entryPoint=traefik",
                "--providers.providersThrottleDuration=" + throttle.toMillis() + "ms",
                "--log.level=INFO"));
        command.addAll(List.of(providers));
        ProcessBuilder pb = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile());
        if (kubeconfig != null) {
            pb.environment().put("KUBECONFIG", kubeconfig);
        }
        TraefikProcess traefik = new TraefikProcess(pb.start(), host, api, web);
        await().atMost(Duration.ofSeconds(30)).ignoreExceptions().until(() -> {
            if (!traefik.process.isAlive()) {
                throw new IllegalStateException("traefik exited; see " + log + ":\n" + Files.readString(log));
            }
            return traefik.status("/ping") == 200;
        });
        return traefik;
    }

    /** This machine's first non-loopback IPv4 address. */
    public static String hostAddress() throws IOException {
        for (var nic : java.util.Collections.list(java.net.NetworkInterface.getNetworkInterfaces())) {
            if (!nic.isUp() || nic.isLoopback()) {
                continue;
            }
            for (var a : java.util.Collections.list(nic.getInetAddresses())) {
                if (a instanceof java.net.Inet4Address && !a.isLoopbackAddress() && !a.isLinkLocalAddress()) {
                    return a.getHostAddress();
                }
            }
        }
        throw new IllegalStateException("no non-loopback IPv4 address to serve Traefik's API on");
    }

    /** The pod IPs Traefik sends new requests to for a service of any provider, by its full name. */
    public Set<String> servers(String name) throws Exception {
        return servers(name, false);
    }

    /**
     * The pod IPs Traefik sends new requests to for {@code <ns>-<service>-<port>@kubernetes}: its
     * servers less the fenced ones (terminating, sticky sessions only). Empty when no such service.
     */
    public Set<String> servers(String namespace, String service, int port) throws Exception {
        return servers(namespace, service, port, false);
    }

    /** Servers Traefik lists as fenced: terminating endpoints it keeps for sticky sessions only. */
    public Set<String> fenced(String namespace, String service, int port) throws Exception {
        return servers(namespace, service, port, true);
    }

    private Set<String> servers(String namespace, String service, int port, boolean fenced) throws Exception {
        return servers(namespace + "-" + service + "-" + port + "@kubernetes", fenced);
    }

    private Set<String> servers(String name, boolean fenced) throws Exception {
        HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create(apiUrl + "/api/http/services/" + name))
                .timeout(Duration.ofSeconds(2)).build(), HttpResponse.BodyHandlers.ofString());
        Set<String> ips = new HashSet<>();
        if (r.statusCode() == 404) {
            return ips;
        }
        if (r.statusCode() != 200) {
            throw new IllegalStateException("Traefik answered " + r.statusCode() + ": " + r.body());
        }
        for (JsonNode server : json.readTree(r.body()).path("loadBalancer").path("servers")) {
            if (server.path("fenced").asBoolean(false) != fenced) {
                continue;
            }
            ips.add(URI.create(server.path("url").asText()).getHost());
        }
        return ips;
    }

    /** Traefik's answer to {@code GET /api/http/services}, verbatim (recorded as test data). */
    public String rawServices() throws Exception {
        return http.send(HttpRequest.newBuilder(URI.create(apiUrl + "/api/http/services?per_page=1000"))
                .timeout(Duration.ofSeconds(2)).build(), HttpResponse.BodyHandlers.ofString()).body();
    }

    /**
     * Every HTTP service of every provider that sends new requests to the address (fenced servers
     * left out), by full name: what the gate must wait out whatever names Traefik gives a route.
     */
    public Set<String> servicesRoutingTo(String ip) throws Exception {
        HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create(apiUrl + "/api/http/services?per_page=1000"))
                .timeout(Duration.ofSeconds(2)).build(), HttpResponse.BodyHandlers.ofString());
        if (r.statusCode() != 200) {
            throw new IllegalStateException("Traefik answered " + r.statusCode() + ": " + r.body());
        }
        Set<String> names = new HashSet<>();
        for (JsonNode service : json.readTree(r.body())) {
            for (JsonNode server : service.path("loadBalancer").path("servers")) {
                if (!server.path("fenced").asBoolean(false)
                        && ip.equals(URI.create(server.path("url").asText()).getHost())) {
                    names.add(service.path("name").asText());
                }
            }
        }
        return names;
    }

    private int status(String path) throws Exception {
        return http.send(HttpRequest.newBuilder(URI.create(apiUrl + path)).timeout(Duration.ofSeconds(1)).build(),
                HttpResponse.BodyHandlers.discarding()).statusCode();
    }

    @Override
    public void close() throws InterruptedException {
        process.destroy();
        if (!process.waitFor(5, java.util.concurrent.TimeUnit.SECONDS)) {
            process.destroyForcibly();
        }
    }

    static Path binary() throws IOException {
        String configured = System.getProperty("zdt.traefik.bin");
        if (configured != null) {
            return Path.of(configured);
        }
        Path bin = Path.of(System.getProperty("user.home"), ".cache", "zdt", "bin");
        try (Stream<Path> dirs = Files.list(bin)) {
            List<Path> found = dirs.filter(d -> d.getFileName().toString().startsWith("traefik-"))
                    .map(d -> d.resolve("traefik")).filter(Files::isExecutable)
                    .sorted(Comparator.reverseOrder()).toList();
            if (found.isEmpty()) {
                throw new IllegalStateException("no Traefik binary under " + bin
                        + ": run `e2e/cluster/zdt-cluster build all` first");
            }
            return found.get(0);
        } catch (java.nio.file.NoSuchFileException e) {
            throw new IllegalStateException("no " + bin + ": run `e2e/cluster/zdt-cluster build all` first", e);
        }
    }

    public static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }
}
