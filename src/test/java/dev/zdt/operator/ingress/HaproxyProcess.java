package dev.zdt.operator.ingress;

import static org.awaitility.Awaitility.await;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.atomic.AtomicBoolean;

import com.sun.net.httpserver.HttpServer;

/**
 * A real HAProxy process (Debian's package, {@code /usr/sbin/haproxy}) balancing over servers whose
 * addresses are the test's pod IPs, while its HTTP health checks go to small local servers the test
 * runs ({@code check addr 127.0.0.1 port <p>}): a pod's health is what its {@link Health} says. Its
 * runtime API listens at level user on the host's non-loopback address, as an EndpointSlice needs.
 */
public final class HaproxyProcess implements AutoCloseable {

    /** Where Debian installs it; {@code -Dzdt.haproxy.bin} overrides. */
    public static Path binary() {
        return Path.of(System.getProperty("zdt.haproxy.bin", "/usr/sbin/haproxy"));
    }

    public static boolean installed() {
        return Files.isExecutable(binary());
    }

    /** One pod's health endpoint: 200 while healthy, 503 once not. */
    public static final class Health implements AutoCloseable {
        private final HttpServer server;
        private final AtomicBoolean healthy = new AtomicBoolean(true);

        public Health() throws IOException {
            server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
            server.createContext("/", ex -> {
                ex.sendResponseHeaders(healthy.get() ? 200 : 503, -1);
                ex.close();
            });
            server.start();
        }

        public int port() {
            return server.getAddress().getPort();
        }

        public void fail() {
            healthy.set(false);
        }

        @Override
        public void close() {
            server.stop(0);
        }
    }

    private final Process process;
    public final String host;
    public final int apiPort;
    private final Path log;

    private HaproxyProcess(Process process, String host, int apiPort, Path log) {
        this.process = process;
        this.host = host;
        this.apiPort = apiPort;
        this.log = log;
    }

    /**
     * One backend {@code backend} whose servers are at the given pod IPs (port 80), each checked
     * every {@code inter}, marked DOWN after {@code fall} failed checks.
     */
    public static HaproxyProcess start(String backend, Map<String, Health> serversByIp, Duration inter, int fall)
            throws IOException {
        String host = TraefikProcess.hostAddress();
        int api = TraefikProcess.freePort();
        Path dir = Files.createTempDirectory("haproxy-");
        StringBuilder cfg = new StringBuilder("""
                global
                  stats socket ipv4@%s:%d level user
                defaults
                  mode http
                  timeout connect 1s
                  timeout client 5s
                  timeout server 5s
                  timeout check 1s
                frontend web
                  bind 127.0.0.1:%d
                  default_backend %s
                backend %s
                  option httpchk GET /healthz
                  default-server inter %dms fall %d rise 1
                """.formatted(host, api, TraefikProcess.freePort(), backend, backend, inter.toMillis(), fall));
        int n = 0;
        for (var e : serversByIp.entrySet()) {
            cfg.append("  server pod").append(++n).append(' ').append(e.getKey()).append(":80 check addr 127.0.0.1 port ")
                    .append(e.getValue().port()).append('\n');
        }
        Path config = dir.resolve("haproxy.cfg");
        Files.writeString(config, cfg);
        Path log = dir.resolve("haproxy.log");
        Process p = new ProcessBuilder(binary().toString(), "-db", "-f", config.toString()).redirectErrorStream(true)
                .redirectOutput(log.toFile()).start();
        HaproxyProcess h = new HaproxyProcess(p, host, api, log);
        await().atMost(Duration.ofSeconds(15)).ignoreExceptions().until(() -> {
            if (!h.process.isAlive()) {
                throw new IllegalStateException("haproxy exited; see " + log + ":\n" + Files.readString(log));
            }
            return !h.servers().isEmpty();
        });
        return h;
    }

    /** Every server line of {@code show servers state}, read here on its own (not by the verifier). */
    public List<HaproxyVerifier.Server> servers() throws IOException {
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress(host, apiPort), 1000);
            s.setSoTimeout(2000);
            s.getOutputStream().write("show servers state\n".getBytes(StandardCharsets.US_ASCII));
            InputStream in = s.getInputStream();
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            in.transferTo(out);
            return HaproxyVerifier.parse(out.toString(StandardCharsets.UTF_8));
        }
    }

    /** The pod IPs whose servers are UP (HAProxy sends them new requests). */
    public Set<String> up() throws IOException {
        Set<String> up = new TreeSet<>();
        for (HaproxyVerifier.Server s : servers()) {
            if (s.routes()) {
                up.add(s.address());
            }
        }
        return up;
    }

    public String log() throws IOException {
        return Files.readString(log);
    }

    @Override
    public void close() throws InterruptedException {
        process.destroy();
        if (!process.waitFor(5, java.util.concurrent.TimeUnit.SECONDS)) {
            process.destroyForcibly();
        }
    }
}
