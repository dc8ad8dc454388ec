package dev.zdt.operator.gate;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.lang.management.ManagementFactory;
import java.net.URL;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;

import jakarta.inject.Inject;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;

import dev.zdt.operator.gate.GateFixture.Answer;
import dev.zdt.operator.testing.KubeApiServerResource;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.discovery.v1.Endpoint;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.common.http.TestHTTPResource;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.QuarkusTestProfile;
import io.quarkus.test.junit.TestProfile;

/**
 * Issue 5, item 7: N (default 1,000) concurrent held gate calls against a real API server. Reports
 * heap and live threads while they are held, and release latency from the moment the EndpointSlice
 * change is sent to the moment each call's answer arrives. Run with {@code e2e/gate-bench/run.sh};
 * writes {@code e2e/results/gate-bench.json}. Not part of the default build.
 */
@QuarkusTest
@TestProfile(GateBench.Profile.class)
@QuarkusTestResource(value = KubeApiServerResource.class, restrictToAnnotatedClass = false)
@EnabledIfSystemProperty(named = "zdt.bench", matches = "true")
class GateBench {

    /** The pods terminate in a burst of N deletes: allow the informer more lag than in the tests. */
    public static class Profile implements QuarkusTestProfile {
        @Override
        public Map<String, String> getConfigOverrides() {
            return Map.of("zdt.gate.claim-wait", "20s");
        }
    }

    @Inject
    KubernetesClient client;

    @Inject
    DrainGate gate;

    @TestHTTPResource("/")
    URL base;

    @Test
    void thousandConcurrentHeldCalls() throws Exception {
        int n = Integer.getInteger("zdt.bench.calls", 1000);
        GateFixture f = new GateFixture(client, base.toURI());
        await().atMost(Duration.ofSeconds(30)).until(gate::synced);
        try {
            f.app("bench", """
                    provider: generic
                    propagationSeconds: 0
                    verify: endpoints
                    """, "");
            Pod keeper = f.pod("bench", "bench-keeper", 300);
            f.slice("bench", "bench-keeper", GateFixture.ready(keeper));
            ExecutorService api = Executors.newFixedThreadPool(8);
            List<Pod> pods = all(api, n, i -> f.pod("bench", "bench-" + i, 300));
            f.slice("bench", "bench-pods", pods.stream().map(GateFixture::ready).toArray(Endpoint[]::new));
            all(api, n, i -> {
                client.pods().inNamespace(f.ns).withName(pods.get(i).getMetadata().getName()).delete();
                return null;
            });
            api.shutdown();
            await().atMost(Duration.ofSeconds(60)).until(() -> client.pods().inNamespace(f.ns).list().getItems().stream()
                    .filter(p -> p.getMetadata().getDeletionTimestamp() != null).count() == n);

            long heapBefore = settledHeap();
            int threadsBefore = ManagementFactory.getThreadMXBean().getThreadCount();
            List<CompletableFuture<Answer>> calls = new ArrayList<>(n);
            for (int i = 0; i < n; i++) {
                calls.add(f.callApp("bench"));
            }
            await().atMost(Duration.ofSeconds(120)).until(() -> gate.held() == n);
            long heapHeld = settledHeap();
            int threadsHeld = ManagementFactory.getThreadMXBean().getThreadCount();
            assertThat(calls).noneMatch(CompletableFuture::isDone);

            Instant sentAt = Instant.now();
            long sent = System.nanoTime();
            f.slice("bench", "bench-pods", pods.stream().map(GateFixture::terminating).toArray(Endpoint[]::new));
            long written = System.nanoTime();
            CompletableFuture.allOf(calls.toArray(CompletableFuture[]::new)).get(120, TimeUnit.SECONDS);

            double[] decided = calls.stream().mapToDouble(c -> Duration.between(sentAt, c.join().decidedAt()).toNanos() / 1e6)
                    .sorted().toArray();
            double[] latencies = calls.stream().mapToDouble(c -> (c.join().receivedNanos() - sent) / 1e6).sorted().toArray();
            long verified = calls.stream().filter(c -> c.join().status() == 200 && c.join().body().startsWith("Verified")).count();
            Map<String, Object> result = new java.util.LinkedHashMap<>();
            result.put("date", Instant.now().toString());
            result.put("calls", n);
            result.put("releasedVerified", verified);
            result.put("path", "GET /gate/v1/{namespace}/{app} (gate mode: every call waits for all " + n + " terminating pods)");
            result.put("heapUsedBeforeMiB", mib(heapBefore));
            result.put("heapUsedWhileHeldMiB", mib(heapHeld));
            result.put("extraHeapMiB", mib(heapHeld - heapBefore));
            result.put("extraHeapNote", "after System.gc(); same JVM as the client, so it includes the client's "
                    + n + " HTTP connections: an upper bound for the gate");
            result.put("liveThreadsBefore", threadsBefore);
            result.put("liveThreadsWhileHeld", threadsHeld);
            result.put("sliceWriteMs", round((written - sent) / 1e6));
            result.put("releaseLatencyFrom", "just before the EndpointSlice update is sent");
            result.put("gateDecidedP50Ms", round(percentile(decided, 50)));
            result.put("gateDecidedP99Ms", round(percentile(decided, 99)));
            result.put("gateDecidedMaxMs", round(decided[decided.length - 1]));
            result.put("gateDecidedNote", "to the gate's release decision (X-Zdt-Decided-At, wall clock, same JVM)");
            result.put("releaseLatencyP50Ms", round(percentile(latencies, 50)));
            result.put("releaseLatencyP99Ms", round(percentile(latencies, 99)));
            result.put("releaseLatencyMaxMs", round(latencies[latencies.length - 1]));
            result.put("releaseLatencyNote", "to each answer's arrival at the client (JDK HttpClient, " + n
                    + " connections, in the same JVM on the same CPUs as the gate, the API server and etcd)");
            result.put("load", "shared 2-CPU machine: other builds and an e2e cluster ran at the same time");
            result.put("targets", Map.of("extraHeapMiB", "< 100", "releaseLatencyP99Ms", "< 200"));
            result.put("machine", Runtime.getRuntime().availableProcessors() + " CPUs, Java " + Runtime.version()
                    + ", max heap " + mib(Runtime.getRuntime().maxMemory()) + " MiB");
            // The common case: a rolling update drains one pod at a time, with the other holds idle.
            int singles = Integer.getInteger("zdt.bench.singles", 30);
            double[] single = new double[singles];
            double[] singleDecided = new double[singles];
            for (int i = 0; i < singles; i++) {
                Pod p = f.pod("bench", "bench-single-" + i, 300);
                String slice = "bench-single-" + i;
                f.slice("bench", slice, GateFixture.ready(p));
                f.terminate(p);
                CompletableFuture<Answer> call = f.callPod("bench", p.getMetadata().getName());
                await().atMost(Duration.ofSeconds(10)).until(() -> gate.held() == 1);
                Instant at = Instant.now();
                long t = System.nanoTime();
                f.slice("bench", slice, GateFixture.terminating(p));
                Answer a = call.get(30, TimeUnit.SECONDS);
                assertThat(a.body()).startsWith("Verified");
                single[i] = (a.receivedNanos() - t) / 1e6;
                singleDecided[i] = Duration.between(at, a.decidedAt()).toNanos() / 1e6;
            }
            Arrays.sort(single);
            Arrays.sort(singleDecided);
            result.put("singleReleases", singles);
            result.put("singleDecidedP50Ms", round(percentile(singleDecided, 50)));
            result.put("singleDecidedP99Ms", round(percentile(singleDecided, 99)));
            result.put("singleReleaseLatencyP50Ms", round(percentile(single, 50)));
            result.put("singleReleaseLatencyP99Ms", round(percentile(single, 99)));
            result.put("singleNote", "one held call at a time (pod path), "
                    + "from just before its EndpointSlice update is sent; p99 of " + singles + " is their maximum");
            String json = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValueAsString(result);
            Path out = Path.of(System.getProperty("zdt.project.dir", "."), "e2e", "results", "gate-bench.json");
            Files.createDirectories(out.getParent());
            Files.writeString(out, json + "\n");
            System.out.println("gate bench: " + json);
            assertThat(verified).isEqualTo(n);
        } finally {
            await().atMost(Duration.ofSeconds(60)).until(() -> gate.held() == 0);
            f.close();
        }
    }

    private interface Step<T> {
        T run(int i) throws Exception;
    }

    private static <T> List<T> all(ExecutorService pool, int n, Step<T> step) throws Exception {
        List<CompletableFuture<T>> futures = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            int k = i;
            futures.add(CompletableFuture.supplyAsync(() -> {
                try {
                    return step.run(k);
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                }
            }, pool));
        }
        List<T> out = new ArrayList<>();
        for (CompletableFuture<T> c : futures) {
            out.add(c.get(120, TimeUnit.SECONDS));
        }
        return out;
    }

    private static long settledHeap() {
        for (int i = 0; i < 3; i++) {
            System.gc();
        }
        return ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed();
    }

    private static double percentile(double[] sorted, double p) {
        int index = (int) Math.ceil(p / 100.0 * sorted.length) - 1;
        return sorted[Math.max(0, Math.min(sorted.length - 1, index))];
    }

    private static double mib(long bytes) {
        return round(bytes / 1048576.0);
    }

    private static double round(double v) {
        return Math.round(v * 10) / 10.0;
    }

}
