package dev.zdt.operator.ingress;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import dev.zdt.operator.api.v1alpha1.Provider;
import dev.zdt.operator.api.v1alpha1.ZeroDowntimeApp;
import dev.zdt.operator.testing.Apps;

/**
 * Reading HAProxy's {@code show servers state}, recorded from a real HAProxy 2.6 (the config that
 * produced it is beside it: one server per state, a second backend, DNS template slots never
 * resolved), and every way a runtime API answer can fail, said in our words. A plain socket server
 * stands in for a replica that misbehaves.
 */
class HaproxyVerifierTest {

    private static final String SECRET = "root:x:0:0 internal-token-1234";

    private ServerSocket server;
    private final CountDownLatch stop = new CountDownLatch(1);

    @AfterEach
    void stopServer() throws IOException {
        stop.countDown();
        if (server != null) {
            server.close();
        }
    }

    private static String fixture() throws IOException {
        try (InputStream in = HaproxyVerifierTest.class.getResourceAsStream("/haproxy/show-servers-state.txt")) {
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
    }

    private static HaproxyVerifier verifier(Duration timeout, int maxBytes) {
        return new HaproxyVerifier(null, timeout, maxBytes, new IngressPolicy(List.of(), List.of()));
    }

    @Test
    void readsEveryServerOfEveryBackendWithItsState() throws Exception {
        List<HaproxyVerifier.Server> servers = HaproxyVerifier.parse(fixture());
        assertThat(servers).extracting(s -> s.backend() + "/" + s.name() + " " + s.address() + " " + s.state())
                .containsExactly(
                        "shop/up 127.0.0.11 UP",
                        "shop/down 127.0.0.13 DOWN",
                        "shop/maint 127.0.0.12 DOWN MAINT",
                        "shop/drain 127.0.0.14 UP DRAIN",
                        "shop/zero 127.0.0.15 UP weight 0",
                        "other/o1 127.0.0.11 UP",
                        "fromdns/pod1 - DOWN MAINT",
                        "fromdns/pod2 - DOWN MAINT");
        assertThat(servers).filteredOn(HaproxyVerifier.Server::routes).extracting(HaproxyVerifier.Server::name)
                .containsExactly("up", "o1");
    }

    @Test
    void onlyAnUpServerRoutesAndEveryOtherStateFencesItsAddress() throws Exception {
        Set<String> asked = Set.of("127.0.0.11", "127.0.0.12", "127.0.0.13", "127.0.0.14", "127.0.0.15", "10.9.9.9");
        ReplicaAnswer a = HaproxyVerifier.answer("lb-1", HaproxyVerifier.parse(fixture()), asked);
        assertThat(a.known()).isTrue();
        assertThat(a.routes()).containsOnlyKeys("127.0.0.11");
        assertThat(a.routes().get("127.0.0.11")).containsExactly("other/o1", "shop/up");
        // DOWN after failed checks, MAINT, DRAIN, weight 0: listed, no new request.
        assertThat(a.fenced()).containsExactlyInAnyOrder("127.0.0.12", "127.0.0.13", "127.0.0.14", "127.0.0.15");
        assertThat(a.routes(  "10.9.9.9")).isFalse();
        assertThat(a.detail()).contains("looked for 10.9.9.9, 127.0.0.11").contains("found 8 servers in 3 backends")
                .contains("127.0.0.13 shop/down DOWN").contains("127.0.0.14 shop/drain UP DRAIN");
    }

    @Test
    void anAddressInNoBackendIsNeitherRoutedNorFencedAndTheMessageSaysWhatWasFound() throws Exception {
        ReplicaAnswer a = HaproxyVerifier.answer("lb-1", HaproxyVerifier.parse(fixture()), Set.of("10.244.0.7"));
        assertThat(a.known()).isTrue();
        assertThat(a.routes()).isEmpty();
        assertThat(a.fenced()).isEmpty();
        assertThat(a.detail()).isEqualTo("looked for 10.244.0.7 among the servers of every backend; found 8 servers"
                + " in 3 backends, none at those addresses");
    }

    @Test
    void textThatIsNotTheServerStateIsRefusedInOurWords() throws Exception {
        assertThatThrownBy(() -> HaproxyVerifier.parse("Permission denied\n\n")).hasMessage(
                "no format version 1 on the first line");
        assertThatThrownBy(() -> HaproxyVerifier.parse("1\n3 shop 1 up 10.0.0.1 2 0 1\n")).hasMessage(
                "no column header on the second line");
        assertThatThrownBy(() -> HaproxyVerifier.parse("1\n# be_id be_name srv_id srv_name\n")).hasMessage(
                "no column srv_addr");
        String header = fixture().split("\n")[1];
        assertThatThrownBy(() -> HaproxyVerifier.parse("1\n" + header + "\n3 shop 1 up\n"))
                .hasMessageStartingWith("a server line with 4 of ");
        assertThatThrownBy(() -> HaproxyVerifier.parse("1\n" + header + "\n"
                + "3 shop 1 up 127.0.0.11 UP 0 1 1 1 15 3 2 6 0 0 0 - 18901 - 0 0 - - 0\n"))
                .hasMessage("a server line whose state or weight is not a number");
    }

    /** A one-connection runtime API: reads the command, answers, closes. */
    private String serve(byte[] answer, boolean hang) throws IOException {
        server = new ServerSocket(0, 5, InetAddress.getLoopbackAddress());
        Thread t = new Thread(() -> {
            try (Socket s = server.accept()) {
                byte[] line = new byte[64];
                int n = s.getInputStream().read(line);
                if (n <= 0 || !new String(line, 0, n, StandardCharsets.US_ASCII).equals(HaproxyVerifier.COMMAND)) {
                    return;
                }
                OutputStream out = s.getOutputStream();
                out.write(answer);
                out.flush();
                if (hang) {
                    stop.await(30, TimeUnit.SECONDS);
                }
            } catch (IOException | InterruptedException e) {
                // the test ends
            }
        });
        t.setDaemon(true);
        t.start();
        return "http://127.0.0.1:" + server.getLocalPort();
    }

    private ReplicaAnswer ask(HaproxyVerifier v, String base, Set<String> addresses) throws Exception {
        return v.ask(new ControllerReplicas.Replica("lb-1", base), addresses, null).get(10, TimeUnit.SECONDS);
    }

    @Test
    void asksTheRuntimeApiWithOneCommandAndReadsTheAnswer() throws Exception {
        String base = serve(fixture().getBytes(StandardCharsets.UTF_8), false);
        ReplicaAnswer a = ask(verifier(Duration.ofSeconds(2), 1 << 20), base, Set.of("127.0.0.11", "127.0.0.13"));
        assertThat(a.known()).isTrue();
        assertThat(a.routes()).containsOnlyKeys("127.0.0.11");
        assertThat(a.fenced()).containsExactly("127.0.0.13");
    }

    @Test
    void anAnswerOtherThanTheServerStateIsUnknownAndNotRepeated() throws Exception {
        String base = serve((SECRET + "\n").getBytes(StandardCharsets.UTF_8), false);
        ReplicaAnswer a = ask(verifier(Duration.ofSeconds(2), 1 << 20), base, Set.of("127.0.0.11"));
        assertThat(a.known()).isFalse();
        assertThat(a.detail()).isEqualTo("HAProxy replica lb-1 sent something that is not HAProxy's server state"
                + " (no format version 1 on the first line)").doesNotContain("root");
    }

    @Test
    void anAnswerOverTheCapIsRefused() throws Exception {
        String base = serve(fixture().getBytes(StandardCharsets.UTF_8), false);
        ReplicaAnswer a = ask(verifier(Duration.ofSeconds(2), 200), base, Set.of("127.0.0.11"));
        assertThat(a.known()).isFalse();
        assertThat(a.detail()).isEqualTo("HAProxy replica lb-1 sent a response over 200 bytes");
    }

    @Test
    void aReplicaThatNeverClosesTimesOut() throws Exception {
        String base = serve(fixture().getBytes(StandardCharsets.UTF_8), true);
        long start = System.nanoTime();
        ReplicaAnswer a = ask(verifier(Duration.ofMillis(300), 1 << 20), base, Set.of("127.0.0.11"));
        assertThat(a.known()).isFalse();
        assertThat(a.detail()).isEqualTo("HAProxy replica lb-1 timed out after 0.3 s");
        assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(3));
    }

    @Test
    void aClosedPortSaysSo() throws Exception {
        int port;
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            port = s.getLocalPort();
        }
        ReplicaAnswer a = ask(verifier(Duration.ofSeconds(1), 1 << 20), "http://127.0.0.1:" + port, Set.of("127.0.0.11"));
        assertThat(a.detail()).isEqualTo("HAProxy replica lb-1 could not be connected to (refused or unreachable)");
    }

    @Test
    void speaksForHealthProbeAndNeedsTheControllerService() throws Exception {
        HaproxyVerifier v = verifier(Duration.ofSeconds(1), 1 << 20);
        assertThat(v.supports(Provider.HEALTH_PROBE)).isTrue();
        assertThat(v.supports(Provider.HAPROXY)).isFalse();
        assertThat(v.supports(Provider.TRAEFIK)).isFalse();
        ZeroDowntimeApp app = Apps.parse(Apps.yaml("shop", """
                provider: health-probe
                verify: ingress
                apiUrl: http://127.0.0.1:9999
                """, ""));
        app.getMetadata().setNamespace("web");
        IngressObservation o = v.observe(app, Set.of("10.0.0.1")).toCompletableFuture().get(5, TimeUnit.SECONDS);
        assertThat(o.known()).isFalse();
        assertThat(o.detail()).contains("is not on the operator's allow-list");
    }
}
