package dev.zdt.operator.gate;

import dev.zdt.operator.testing.Apps;
import static org.awaitility.Awaitility.await;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicLong;

import dev.zdt.operator.Constants;
import dev.zdt.operator.api.v1alpha1.ZeroDowntimeApp;
import io.fabric8.kubernetes.api.model.NamespaceBuilder;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodBuilder;
import io.fabric8.kubernetes.api.model.PodIPBuilder;
import io.fabric8.kubernetes.api.model.discovery.v1.Endpoint;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointBuilder;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointSlice;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointSliceBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;

/**
 * What a kubelet and the EndpointSlice controller would do, done by hand against a real API server
 * that has neither: pods that stay terminating (a finalizer holds them), EndpointSlices written
 * directly, and gate calls as the kubelet sends them.
 */
public final class GateFixture {

    public static final String FINALIZER = "zdt.dev/test-keeps-terminating";
    /** Threads of the fixture's HTTP client (plus the JDK's one selector thread). */
    public static final int CLIENT_THREADS = 4;
    private static final AtomicLong IPS = new AtomicLong();

    public final KubernetesClient client;
    public final String ns;
    private final URI base;
    /** A fixed pool, so that the test's own client adds a known number of threads (floods measure threads). */
    private final java.util.concurrent.ExecutorService httpThreads = java.util.concurrent.Executors.newFixedThreadPool(
            CLIENT_THREADS, r -> {
                Thread t = new Thread(r, "gate-fixture-http");
                t.setDaemon(true);
                return t;
            });
    private final HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(20)).executor(httpThreads).build();

    public GateFixture(KubernetesClient client, URI base) {
        this(client, base, "g-" + Long.toString(System.nanoTime(), 36));
        client.resource(new NamespaceBuilder().withNewMetadata().withName(ns).endMetadata().build()).create();
        Apps.ensureGateService(client);
    }

    /** In a namespace that exists, with the gate Service already in place (a namespaced install's test). */
    public GateFixture(KubernetesClient client, URI base, String namespace) {
        this.client = client;
        this.base = base;
        this.ns = namespace;
    }

    /** A ZeroDowntimeApp; {@code traffic} and {@code drain} are YAML blocks indented by two spaces. */
    public ZeroDowntimeApp app(String name, String traffic, String extra) {
        ZeroDowntimeApp app = Apps.parse(Apps.yaml(name, traffic, extra));
        app.getMetadata().setNamespace(ns);
        return client.resource(app).serverSideApply();
    }

    /** A running pod of the app with an IP, created with the given hold bound (as the Deployment stamps it). */
    public Pod pod(String app, String name, int holdSeconds) {
        return running(name, Map.of(Constants.APP_LABEL, app, Constants.MANAGED_BY_LABEL, Constants.OPERATOR_NAME),
                Map.of(Constants.HOLD_ANNOTATION, Integer.toString(holdSeconds)));
    }

    private Pod running(String name, Map<String, String> labels, Map<String, String> annotations) {
        String ip = nextIp();
        Pod pod = client.resource(new PodBuilder().withNewMetadata().withName(name).withNamespace(ns)
                .withLabels(labels)
                .withAnnotations(annotations)
                .withFinalizers(FINALIZER)
                .endMetadata()
                .withNewSpec().withServiceAccountName("default")
                .addNewContainer().withName("web").withImage("localhost/demo-app:latest").endContainer()
                .endSpec().build()).create();
        pod.setStatus(new io.fabric8.kubernetes.api.model.PodStatusBuilder().withPhase("Running").withPodIP(ip)
                .withPodIPs(new PodIPBuilder().withIp(ip).build()).build());
        return client.pods().inNamespace(ns).resource(pod).updateStatus();
    }

    /**
     * A running pod of a DrainPolicy, labelled and annotated as the webhook leaves it, owned by
     * whatever the user deploys with (its managed-by label is Helm's, not the operator's).
     */
    public Pod policyPod(String policy, String name, int holdSeconds) {
        return running(name, Map.of("app", policy, Constants.APP_LABEL, Constants.POLICY_APP_PREFIX + policy,
                Constants.MANAGED_BY_LABEL, "Helm"),
                Map.of(Constants.HOLD_ANNOTATION, Integer.toString(holdSeconds), Constants.DRAIN_POLICY_LABEL, policy));
    }

    /** The EndpointSlice of a Service of the user's own (no operator label), as the EndpointSlice controller writes it. */
    public EndpointSlice serviceSlice(String service, Endpoint... endpoints) {
        return writeSlice(service + "-slice", Map.of("kubernetes.io/service-name", service,
                "endpointslice.kubernetes.io/managed-by", "endpointslice-controller.k8s.io"), endpoints);
    }

    /** Deletion as a rollout does it: the finalizer keeps the pod terminating, as a held preStop does. */
    public void terminate(Pod pod) {
        client.pods().inNamespace(ns).withName(pod.getMetadata().getName()).delete();
        await().atMost(Duration.ofSeconds(10)).until(() -> client.pods().inNamespace(ns)
                .withName(pod.getMetadata().getName()).get().getMetadata().getDeletionTimestamp() != null);
    }

    public static Endpoint ready(Pod pod) {
        return endpoint(pod, true);
    }

    /** How the EndpointSlice controller shows a terminating pod whose readiness probe still passes. */
    public static Endpoint terminating(Pod pod) {
        return endpoint(pod, false);
    }

    private static Endpoint endpoint(Pod pod, boolean ready) {
        return new EndpointBuilder().withAddresses(pod.getStatus().getPodIP())
                .withNewConditions().withReady(ready).withServing(true).withTerminating(!ready).endConditions()
                .withNewTargetRef().withKind("Pod").withName(pod.getMetadata().getName())
                .withNamespace(pod.getMetadata().getNamespace()).endTargetRef()
                .build();
    }

    /** Writes the app's one EndpointSlice, labelled as the EndpointSlice controller labels it. */
    public EndpointSlice slice(String app, Endpoint... endpoints) {
        return slice(app, app + "-slice", endpoints);
    }

    /** One of several slices of the app's Service (a slice holds at most 1,000 endpoints). */
    public EndpointSlice slice(String app, String name, Endpoint... endpoints) {
        return writeSlice(name, Map.of("kubernetes.io/service-name", app, Constants.APP_LABEL, app,
                Constants.MANAGED_BY_LABEL, Constants.OPERATOR_NAME,
                "endpointslice.kubernetes.io/managed-by", "endpointslice-controller.k8s.io"), endpoints);
    }

    private EndpointSlice writeSlice(String name, Map<String, String> labels, Endpoint... endpoints) {
        EndpointSlice slice = new EndpointSliceBuilder().withNewMetadata().withName(name).withNamespace(ns)
                .withLabels(labels)
                .endMetadata()
                .withAddressType("IPv4")
                .addNewPort().withName("http").withPort(8080).withProtocol("TCP").endPort()
                .withEndpoints(endpoints)
                .build();
        return client.resource(slice).serverSideApply();
    }

    /** A gate call as the kubelet sends it; the future completes with the answer and its arrival time. */
    public CompletableFuture<Answer> call(String path) {
        return call(path, Map.of());
    }

    /** A gate call with extra request headers, as a caller other than the kubelet might send. */
    public CompletableFuture<Answer> call(String path, Map<String, String> headers) {
        HttpRequest.Builder request = HttpRequest.newBuilder(base.resolve(path)).GET();
        headers.forEach(request::header);
        return http.sendAsync(request.build(), HttpResponse.BodyHandlers.ofString())
                .thenApply(r -> new Answer(r.statusCode(), r.body(), System.nanoTime(),
                        r.headers().firstValue("X-Zdt-Decided-At").map(java.time.Instant::parse).orElse(null),
                        r.headers().firstValue("Retry-After").orElse(null)));
    }

    public CompletableFuture<Answer> callApp(String app) {
        return call("/gate/v1/" + ns + "/" + app);
    }

    public CompletableFuture<Answer> callPod(String app, String pod) {
        return call("/gate/v1/" + ns + "/" + app + "/" + pod);
    }

    public String get(String path) throws Exception {
        return get(base.resolve(path)).body();
    }

    /** A GET of any URL, e.g. on the management port; the status is the caller's to check. */
    public HttpResponse<String> get(URI url) throws Exception {
        return get(url, Map.of());
    }

    /** A GET of any URL with these request headers. */
    public HttpResponse<String> get(URI url, Map<String, String> headers) throws Exception {
        HttpRequest.Builder request = HttpRequest.newBuilder(url).GET();
        headers.forEach(request::header);
        return http.send(request.build(), HttpResponse.BodyHandlers.ofString());
    }

    public List<io.fabric8.kubernetes.api.model.events.v1.Event> events(String reason) {
        List<io.fabric8.kubernetes.api.model.events.v1.Event> found = new ArrayList<>();
        client.events().v1().events().inNamespace(ns).list().getItems().stream()
                .filter(e -> reason.equals(e.getReason())).forEach(found::add);
        return found;
    }

    public ZeroDowntimeApp read(String app) {
        return client.resources(ZeroDowntimeApp.class).inNamespace(ns).withName(app).get();
    }

    /** Lets the namespace go: finalizers off every test pod. */
    public void close() {
        close(true);
    }

    /** Finalizers off every test pod; the namespace deleted too, or kept for other tests. */
    public void close(boolean deleteNamespace) {
        for (Pod p : client.pods().inNamespace(ns).list().getItems()) {
            try {
                client.pods().inNamespace(ns).withName(p.getMetadata().getName())
                        .edit(x -> { x.getMetadata().setFinalizers(List.of()); return x; });
            } catch (RuntimeException e) {
                // already gone
            }
        }
        if (deleteNamespace) {
            client.namespaces().withName(ns).delete();
        }
        httpThreads.shutdown();
    }

    private static String nextIp() {
        long n = IPS.incrementAndGet();
        return "10.77." + (n / 250) + "." + (1 + n % 250);
    }

    /** A gate answer, when the client got it ({@link System#nanoTime()}), when the gate decided and its Retry-After (headers). */
    public record Answer(int status, String body, long receivedNanos, java.time.Instant decidedAt, String retryAfter) {
    }
}
