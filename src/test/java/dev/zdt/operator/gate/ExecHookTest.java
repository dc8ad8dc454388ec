package dev.zdt.operator.gate;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import dev.zdt.operator.api.v1alpha1.DrainRecord.ReleasedBy;
import dev.zdt.operator.testing.KubeApiServerResource;
import dev.zdt.operator.pod.GateEndpoint;
import dev.zdt.operator.pod.PreStopHooks;
import io.fabric8.kubernetes.api.model.Pod;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.junit.QuarkusTest;

/**
 * Exec mode's preStop script, run by /bin/sh as the container runtime runs it, against the real gate
 * (and a real API server behind it): with each HTTP client the script knows, with none, and with
 * the gate unreachable. The hold of the script's fallback is the hold the Deployment was made with.
 */
@QuarkusTest
@QuarkusTestResource(value = KubeApiServerResource.class, restrictToAnnotatedClass = false)
class ExecHookTest extends GateTestBase {

    @TempDir
    Path bin;

    private final List<Process> hooks = new java.util.ArrayList<>();

    @AfterEach
    void stopHooks() {
        hooks.forEach(Process::destroyForcibly);
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = { "wget", "curl" })
    void theHookAsksTheGateForItsOwnPodAndReturnsOnceReleased(String httpClient) throws Exception {
        List<Pod> shop = readyShop(20, "shop-a", "shop-b");
        f.terminate(shop.get(0));
        tools("date", "sleep", httpClient);

        long started = System.nanoTime();
        Process hook = hook(20, gateHere(), "shop-a");
        await().atMost(Duration.ofSeconds(10)).until(() -> gate.held() == 1);
        assertThat(hook.isAlive()).as("held by the gate, not sleeping the hold").isTrue();

        f.slice("shop", GateFixture.terminating(shop.get(0)), GateFixture.ready(shop.get(1)));

        assertThat(hook.waitFor(10, TimeUnit.SECONDS)).as("released by the gate, long before the 20 s hold").isTrue();
        assertThat(hook.exitValue()).isZero();
        assertThat(System.nanoTime() - started).isLessThan(TimeUnit.SECONDS.toNanos(12));
        assertThat(awaitDrainRecord("shop", "shop-a").getReleasedBy()).isEqualTo(ReleasedBy.VERIFIED);
    }

    @Test
    void withoutAnHttpClientTheHookSleepsTheHold() throws Exception {
        tools("date", "sleep");

        long started = System.nanoTime();
        Process hook = hook(2, gateHere(), "shop-a");

        assertThat(hook.waitFor(10, TimeUnit.SECONDS)).isTrue();
        assertThat(hook.exitValue()).isZero();
        assertThat(System.nanoTime() - started).as("the whole hold, not less")
                .isGreaterThanOrEqualTo(TimeUnit.SECONDS.toNanos(1)).isLessThan(TimeUnit.SECONDS.toNanos(4));
        assertThat(gate.held()).isZero();
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = { "wget", "curl" })
    void whenTheGateIsUnreachableTheHookSleepsWhatIsLeftOfTheHold(String httpClient) throws Exception {
        tools("date", "sleep", httpClient);
        int closed;
        try (ServerSocket s = new ServerSocket(0)) {
            closed = s.getLocalPort();
        }

        long started = System.nanoTime();
        Process hook = hook(3, new GateEndpoint("127.0.0.1", closed), "shop-a");

        assertThat(hook.waitFor(10, TimeUnit.SECONDS)).isTrue();
        assertThat(hook.exitValue()).isZero();
        // date +%s counts whole seconds: what is left of a 3 s hold is at least 2 s of sleep.
        assertThat(System.nanoTime() - started).as("the hold, not a refused connection's few milliseconds")
                .isGreaterThanOrEqualTo(TimeUnit.SECONDS.toNanos(2)).isLessThan(TimeUnit.SECONDS.toNanos(5));
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = { "wget", "curl" })
    void whenTheGateAcceptsButNeverAnswersTheHookEndsByTheHold(String httpClient) throws Exception {
        tools("date", "sleep", httpClient);
        try (ServerSocket silent = new ServerSocket(0)) {
            // Accepts connections (the kernel's backlog does) and never answers: a hung gate.
            long started = System.nanoTime();
            Process hook = hook(2, new GateEndpoint("127.0.0.1", silent.getLocalPort()), "shop-a");

            assertThat(hook.waitFor(15, TimeUnit.SECONDS)).as("one try, not a retry after each timeout").isTrue();
            assertThat(hook.exitValue()).isZero();
            assertThat(System.nanoTime() - started).isGreaterThanOrEqualTo(TimeUnit.SECONDS.toNanos(1))
                    .isLessThan(TimeUnit.SECONDS.toNanos(5));
        }
    }

    private GateEndpoint gateHere() {
        return new GateEndpoint(base.getHost(), base.getPort());
    }

    /** A PATH of only these programs, so that the script sees exactly the HTTP clients a test names. */
    private void tools(String... names) throws IOException {
        for (String name : names) {
            Path real = List.of(Path.of("/usr/bin", name), Path.of("/bin", name)).stream().filter(Files::isExecutable)
                    .findFirst().orElseThrow(() -> new IllegalStateException(name + " is not installed"));
            Files.createSymbolicLink(bin.resolve(name), real);
        }
    }

    private Process hook(int holdSeconds, GateEndpoint gate, String pod) throws IOException {
        String script = PreStopHooks.execScript(holdSeconds, gate, f.ns, "shop");
        ProcessBuilder pb = new ProcessBuilder("/bin/sh", "-c", script).redirectErrorStream(true);
        pb.environment().clear();
        pb.environment().put("PATH", bin.toString());
        pb.environment().put("HOSTNAME", pod);
        Process p = pb.start();
        hooks.add(p);
        // Drain the output so that a chatty client never blocks on a full pipe.
        Thread drain = new Thread(() -> {
            try {
                p.getInputStream().transferTo(System.out);
            } catch (IOException ignored) {
                // the process ended
            }
        }, "exec-hook-output");
        drain.setDaemon(true);
        drain.start();
        return p;
    }
}
