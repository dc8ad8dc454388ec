package dev.zdt.operator.policy;

import dev.zdt.operator.watch.Policies;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.Base64;
import java.util.Locale;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;

import jakarta.annotation.PreDestroy;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;

import org.jboss.logging.Logger;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.core.exc.StreamConstraintsException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import dev.zdt.operator.api.InvalidSpecException;
import dev.zdt.operator.api.v1alpha1.DrainPolicy;
import dev.zdt.operator.budget.DrainBudget;
import dev.zdt.operator.pod.DrainHelperConfig;
import dev.zdt.operator.pod.GateAddress;
import dev.zdt.operator.pod.GateUnavailableException;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.client.utils.Serialization;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.quarkus.runtime.StartupEvent;
import io.netty.buffer.ByteBufInputStream;
import io.vertx.core.Vertx;
import io.vertx.core.WorkerExecutor;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.core.net.PemKeyCertOptions;
import io.vertx.core.net.SSLOptions;

/**
 * The mutating admission webhook for pod creation (AdmissionReview v1, JSONPatch answers): a pod a
 * DrainPolicy of its namespace selects gets the policy's drain ({@link PolicyPods#protect}). It
 * never refuses a pod: a pod it cannot protect is admitted as it is, with a warning, and counted
 * as unprotected by the policy's status.
 *
 * <p>Served on its own HTTPS port by its own Vert.x server, not by the gate's HTTP server: the
 * gate's server refuses bodies over 1 KiB (a preStop call has none), while an AdmissionReview
 * carries the whole pod. The certificate comes from {@link WebhookCertificates}, checked every
 * zdt.webhook.check-interval and swapped into the running server when it changed.
 *
 * <p>Its port is reachable by whatever reaches the Service, not only by the API server, so every
 * request is bounded: its body is capped at {@link #MAX_BODY} as it streams, chunked or not (413 and
 * the connection closed at the byte that passes it); at most zdt.webhook.max-concurrent-reviews are
 * read or answered at once (429 at once beyond), each for at most zdt.webhook.read-timeout (408);
 * the JSON parse is capped in depth, tokens and string length; two threads review. Replies say what
 * was refused in our words, never with the request's own text.
 */
@ApplicationScoped
public class PodWebhook {

    public static final String PATH = "/mutate/v1/pods";
    /** An AdmissionReview of a pod is a few KiB; the API server sends at most 3 MiB. */
    static final int MAX_BODY = 3 * 1024 * 1024;
    /** How soon a check is repeated when it failed or found no webhook configuration to write the caBundle into. */
    static final long SOON_SECONDS = 15;
    private static final Logger LOG = Logger.getLogger(PodWebhook.class);
    /** A pod nests about 15 levels under the review (managedFields, affinity); more is not a pod. */
    static final int MAX_DEPTH = 100;
    /**
     * JSON tokens in one review: a large real pod has a few thousand. 200,000 bound the tree of a
     * hostile body (3 MiB of {@code {},} is a million objects, about 100 MiB as a tree) to ~10 MiB.
     */
    static final long MAX_TOKENS = 200_000;
    private static final ObjectMapper JSON = new ObjectMapper(JsonFactory.builder()
            .streamReadConstraints(StreamReadConstraints.builder().maxNestingDepth(MAX_DEPTH)
                    .maxStringLength(MAX_BODY).maxDocumentLength(MAX_BODY).maxTokenCount(MAX_TOKENS).build())
            .build());

    private final Vertx vertx;
    private final WebhookConfig config;
    private final WebhookCertificates certificates;
    private final Policies policies;
    private final GateAddress gateAddress;
    private final DrainHelperConfig helper;
    private final Counter protectedPods;
    private final Counter skippedPods;
    private final MeterRegistry registry;
    private final java.util.Map<String, Counter> refusals = new java.util.concurrent.ConcurrentHashMap<>();
    /** Slots of zdt.webhook.max-concurrent-reviews: a request takes one at its headers, gives it back once answered or closed. */
    private final Semaphore reviews;
    private final WorkerExecutor reviewers;
    private final ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "zdt-webhook-certs");
        t.setDaemon(true);
        return t;
    });

    private final java.util.concurrent.atomic.AtomicBoolean soon = new java.util.concurrent.atomic.AtomicBoolean();
    private volatile HttpServer server;
    private volatile String servedCert;
    private volatile CompletableFuture<Integer> listening = new CompletableFuture<>();

    public PodWebhook(Vertx vertx, WebhookConfig config, WebhookCertificates certificates, Policies policies,
            GateAddress gateAddress, DrainHelperConfig helper, MeterRegistry registry) {
        this.vertx = vertx;
        this.config = config;
        this.certificates = certificates;
        this.policies = policies;
        this.gateAddress = gateAddress;
        this.helper = helper;
        this.registry = registry;
        if (config.maxConcurrentReviews() < 1) {
            throw new IllegalArgumentException("zdt.webhook.max-concurrent-reviews must be at least 1");
        }
        this.reviews = new Semaphore(config.maxConcurrentReviews());
        this.reviewers = vertx.createSharedWorkerExecutor("zdt-webhook-review", 2);
        this.protectedPods = Counter.builder("zdt.webhook.pods").tag("result", "protected")
                .description("Pods the DrainPolicy webhook saw at creation, by what it did").register(registry);
        this.skippedPods = Counter.builder("zdt.webhook.pods").tag("result", "unprotected")
                .description("Pods the DrainPolicy webhook saw at creation, by what it did").register(registry);
    }

    void onStart(@Observes StartupEvent event) {
        if (!config.enabled()) {
            return;
        }
        policies.start();
        timer.execute(this::check);
        timer.scheduleWithFixedDelay(this::check, config.checkInterval().toMillis(), config.checkInterval().toMillis(),
                TimeUnit.MILLISECONDS);
    }

    /** The port the webhook listens on once it has a certificate (tests read it: zdt.webhook.port=0 picks one). */
    public CompletableFuture<Integer> listening() {
        return listening;
    }

    /** Reviews being read or answered now (tests watch the bound). */
    int reviewsInFlight() {
        return config.maxConcurrentReviews() - reviews.availablePermits();
    }

    /** Makes or renews the certificate, writes the caBundle and serves the newest certificate. Also run by tests. */
    public synchronized void check() {
        WebhookCertificates.Material m;
        try {
            m = certificates.ensure(Instant.now());
        } catch (RuntimeException e) {
            LOG.warnf("webhook certificate: %s; retrying in %d s", e.getMessage(), SOON_SECONDS);
            schedule(SOON_SECONDS);
            return;
        }
        if (!m.configurationFound()) {
            // Installed with the operator: it may land a moment after this replica starts. Until its
            // caBundle is written the API server cannot call the webhook, so look again soon.
            schedule(SOON_SECONDS);
        }
        if (m.certPem().equals(servedCert)) {
            return;
        }
        PemKeyCertOptions keyCert = new PemKeyCertOptions()
                .setCertValue(Buffer.buffer(m.certPem())).setKeyValue(Buffer.buffer(m.keyPem()));
        try {
            if (server == null) {
                HttpServer s = vertx.createHttpServer(new HttpServerOptions().setSsl(true).setKeyCertOptions(keyCert)
                        .setMaxInitialLineLength(4096).setMaxHeaderSize(16 * 1024));
                s.requestHandler(this::handle);
                int port = s.listen(config.port()).toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS)
                        .actualPort();
                server = s;
                listening.complete(port);
                LOG.infof("DrainPolicy webhook listening on HTTPS port %d (certificate valid until %s)", port, m.notAfter());
            } else {
                server.updateSSLOptions(new SSLOptions().setKeyCertOptions(keyCert))
                        .toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
                LOG.infof("DrainPolicy webhook serves its renewed certificate (valid until %s)", m.notAfter());
            }
            servedCert = m.certPem();
        } catch (Exception e) {
            LOG.warnf("DrainPolicy webhook could not serve its certificate: %s; retrying in %s", e.getMessage(),
                    config.checkInterval());
        }
    }

    /** One early re-check at a time, besides the periodic one. */
    private void schedule(long seconds) {
        if (!soon.compareAndSet(false, true)) {
            return;
        }
        try {
            timer.schedule(() -> {
                soon.set(false);
                check();
            }, seconds, TimeUnit.SECONDS);
        } catch (java.util.concurrent.RejectedExecutionException e) {
            soon.set(false); // stopping
        }
    }

    private void handle(HttpServerRequest request) {
        if (!"POST".equals(request.method().name()) || !PATH.equals(request.path())) {
            request.response().setStatusCode(404).end("the DrainPolicy webhook answers POST " + PATH + "\n");
            return;
        }
        String length = request.getHeader("Content-Length");
        long declared = length != null && length.matches("\\d{1,10}") ? Long.parseLong(length) : -1;
        if (declared > MAX_BODY) {
            refuse(request, 413, "too-large", "an AdmissionReview is at most " + MAX_BODY + " bytes\n");
            return;
        }
        if (!reviews.tryAcquire()) {
            request.response().putHeader("Retry-After", "1");
            refuse(request, 429, "busy", "the DrainPolicy webhook is reading " + config.maxConcurrentReviews()
                    + " reviews already; try again\n");
            return;
        }
        new Review(request, declared).read();
    }

    /** Answers at once and closes the connection: nothing more of its body is read or kept. */
    private void refuse(HttpServerRequest request, int status, String reason, String message) {
        refusals.computeIfAbsent(reason, r -> Counter.builder("zdt.webhook.refused").tag("reason", r)
                .description("Requests the DrainPolicy webhook refused before reviewing them, by reason")
                .register(registry)).increment();
        HttpServerResponse response = request.response();
        if (response.ended() || response.closed()) {
            return;
        }
        response.setStatusCode(status).putHeader("Connection", "close").end(message)
                .onComplete(done -> request.connection().close());
    }

    /**
     * One request, from its headers to its answer: holds one of the zdt.webhook.max-concurrent-reviews
     * slots until answered or closed. Its body is kept up to {@link #MAX_BODY} as it streams, chunked
     * or not; past that, 413 and the connection closed. Confined to the request's event loop.
     */
    private final class Review {
        private final HttpServerRequest request;
        private final long timer;
        private Buffer body;
        private boolean done;
        private boolean released;

        Review(HttpServerRequest request, long declared) {
            this.request = request;
            // Grown as the body comes: a declared length is not trusted with an allocation.
            this.body = Buffer.buffer((int) Math.max(1024, Math.min(declared, 64 * 1024)));
            this.timer = vertx.setTimer(config.readTimeout().toMillis(), id -> {
                if (!done) {
                    drop();
                    refuse(request, 408, "slow", "the AdmissionReview did not arrive within "
                            + config.readTimeout().toSeconds() + " s\n");
                }
            });
        }

        void read() {
            request.response().endHandler(v -> release());
            request.response().closeHandler(v -> {
                drop();
                release();
            });
            request.exceptionHandler(e -> {
                drop();
                release();
            });
            request.handler(chunk -> {
                if (done) {
                    return;
                }
                if ((long) body.length() + chunk.length() > MAX_BODY) {
                    drop();
                    refuse(request, 413, "too-large", "an AdmissionReview is at most " + MAX_BODY + " bytes\n");
                    return;
                }
                body.appendBuffer(chunk);
            });
            request.endHandler(v -> {
                if (done) {
                    return;
                }
                Buffer whole = body;
                drop();
                // Off the event loop: the first review may read the gate Service through the client,
                // whose answer arrives on an event loop (a blocked loop waits for itself). Two threads:
                // the parse of a hostile body is bounded (JSON), and so is how many run at once.
                reviewers.<String>executeBlocking(() -> review(parse(whole)), false)
                        .onSuccess(answer -> request.response().putHeader("Content-Type", "application/json").end(answer))
                        .onFailure(e -> {
                            if (!request.response().ended() && !request.response().closed()) {
                                request.response().setStatusCode(400).end("not an AdmissionReview: " + reason(e) + "\n");
                            }
                        });
            });
        }

        /** Reads no more: the body is dropped, the timer cancelled. */
        private void drop() {
            done = true;
            body = null;
            vertx.cancelTimer(timer);
        }

        private void release() {
            if (!released) {
                released = true;
                reviews.release();
            }
        }
    }

    /** The request's JSON, within the parse bounds; {@link NotAReview} in our words when it is not JSON or passes one. */
    static JsonNode parse(Buffer body) {
        try (InputStream in = new ByteBufInputStream(body.getByteBuf())) {
            return JSON.readTree(in);
        } catch (StreamConstraintsException e) {
            String m = String.valueOf(e.getMessage()).toLowerCase(Locale.ROOT);
            if (m.contains("nesting depth")) {
                throw new NotAReview("nested deeper than " + MAX_DEPTH + " levels");
            }
            if (m.contains("token count")) {
                throw new NotAReview("more than " + MAX_TOKENS + " JSON tokens");
            }
            throw new NotAReview("over the webhook's parse limits");
        } catch (IOException e) {
            JsonLocation at = e instanceof JsonProcessingException j ? j.getLocation() : null;
            throw new NotAReview(at == null ? "not JSON"
                    : "not JSON (line " + at.getLineNr() + ", column " + at.getColumnNr() + ")");
        }
    }

    /** A request the webhook does not review, said in our words: the request's own text is never repeated. */
    static final class NotAReview extends IllegalArgumentException {
        NotAReview(String reason) {
            super(reason, null);
        }
    }

    private static String reason(Throwable e) {
        return e instanceof NotAReview ? e.getMessage() : "its request could not be read as a pod creation ("
                + e.getClass().getSimpleName() + ")";
    }

    /** The AdmissionReview answer to one request: admitted always, with the drain as a JSON Patch when a policy takes the pod. */
    String review(JsonNode review) {
        JsonNode request = review.path("request");
        if (request.isMissingNode() || !request.hasNonNull("uid")) {
            throw new NotAReview("no request.uid");
        }
        ObjectNode out = JSON.createObjectNode();
        out.put("apiVersion", "admission.k8s.io/v1").put("kind", "AdmissionReview");
        ObjectNode response = out.putObject("response");
        response.put("uid", request.get("uid").asText()).put("allowed", true);
        Decision d = decide(request);
        if (d.patch() != null) {
            response.put("patchType", "JSONPatch")
                    .put("patch", Base64.getEncoder().encodeToString(d.patch().getBytes(StandardCharsets.UTF_8)));
        }
        if (d.warning() != null) {
            response.putArray("warnings").add(d.warning());
        }
        return out.toString();
    }

    record Decision(String patch, String warning) {
    }

    private Decision decide(JsonNode request) {
        if (!"CREATE".equals(request.path("operation").asText())
                || !"Pod".equals(request.path("kind").path("kind").asText())
                || !request.path("subResource").asText("").isEmpty()) {
            return new Decision(null, null);
        }
        String namespace = request.path("namespace").asText();
        Pod pod = Serialization.unmarshal(request.path("object").toString(), Pod.class);
        if (PolicyPods.exempt(pod)) {
            return new Decision(null, null);
        }
        if (!policies.synced()) {
            skippedPods.increment();
            return new Decision(null, "zdt-operator: DrainPolicies not read yet; pod admitted without the drain");
        }
        Optional<DrainPolicy> policy = PolicyPods.choose(pod, policies.inNamespace(namespace));
        if (policy.isEmpty()) {
            return new Decision(null, null);
        }
        String name = policy.get().getMetadata().getName();
        try {
            DrainBudget budget = PolicyPods.budget(policy.get());
            Pod after = PolicyPods.protect(pod, policy.get(), budget, gateAddress.endpoint(), helper, namespace);
            protectedPods.increment();
            return new Decision(PolicyPods.patch(pod, after), null);
        } catch (InvalidSpecException | GateUnavailableException e) {
            skippedPods.increment();
            LOG.infof("pod %s/%s not protected by DrainPolicy %s: %s", namespace, podName(pod), name, e.getMessage());
            return new Decision(null, "zdt-operator: DrainPolicy " + name + " cannot protect this pod: " + e.getMessage());
        }
    }

    private static String podName(Pod pod) {
        return pod.getMetadata().getName() != null ? pod.getMetadata().getName()
                : pod.getMetadata().getGenerateName() + "*";
    }

    @PreDestroy
    void stop() {
        timer.shutdownNow();
        reviewers.close();
        HttpServer s = server;
        if (s != null) {
            s.close();
        }
    }
}
