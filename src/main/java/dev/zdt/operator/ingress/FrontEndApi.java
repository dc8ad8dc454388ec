package dev.zdt.operator.ingress;

import java.io.IOException;
import java.net.ConnectException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpConnectTimeoutException;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Function;
import java.util.function.Supplier;
import java.util.regex.Pattern;

import dev.zdt.operator.Constants;
import dev.zdt.operator.api.v1alpha1.ControllerRef;
import dev.zdt.operator.api.v1alpha1.TrafficSpec;
import dev.zdt.operator.api.v1alpha1.ZeroDowntimeApp;
import io.fabric8.kubernetes.client.KubernetesClient;

/**
 * What every verifier that reads a front end's HTTP admin API shares: finding the replicas (the
 * admin's allow-list, {@code traffic.controller} or the single {@code traffic.apiUrl}), asking them
 * all at once, one capped and time-limited GET, and failures said in the operator's words.
 */
final class FrontEndApi {

    private static final Pattern NOT_ALNUM = Pattern.compile("[^\\p{L}\\p{N}]+");
    /**
     * Front-end answers fetched and read at once, over every verifier and app of this replica: each
     * holds at most zdt.ingress.max-response-bytes (8 MiB), so answers hold at most 32 MiB of the
     * heap however many apps a tenant points at a hostile front end. A normal answer takes
     * milliseconds; a question waits for a slot, and an app whose question waits keeps its pods
     * held (unknown is never gone) until the answer or the hold's bound.
     */
    static final int MAX_ANSWERS_IN_MEMORY = 4;
    private static final Slots ANSWERS = new Slots(MAX_ANSWERS_IN_MEMORY);

    private final HttpClient http;
    private final Duration timeout;
    private final int maxBytes;
    private final IngressPolicy policy;
    private final ControllerReplicas replicas;
    private final ExecutorService lookups;
    private final FrontEndJson json;
    private final OtherNamespaceFrontEnd otherNamespace = new OtherNamespaceFrontEnd();

    FrontEndApi(KubernetesClient client, Duration timeout, int maxBytes, IngressPolicy policy) {
        this.timeout = timeout;
        this.maxBytes = maxBytes;
        this.policy = policy;
        this.json = new FrontEndJson(maxBytes);
        // The API server lookups block: two threads of their own keep them off the gate's thread.
        this.lookups = Executors.newFixedThreadPool(2, r -> {
            Thread t = new Thread(r, "zdt-ingress-lookup");
            t.setDaemon(true);
            return t;
        });
        this.replicas = client == null ? null : new ControllerReplicas(client, lookups, Duration.ofMillis(250));
        this.http = HttpClient.newBuilder().connectTimeout(timeout).version(HttpClient.Version.HTTP_1_1)
                .followRedirects(HttpClient.Redirect.NEVER).build();
    }

    void stop() {
        lookups.shutdownNow();
    }

    /** The bounded streaming reader for this front end's answers (the depth, string and size caps). */
    FrontEndJson json() {
        return json;
    }

    /**
     * Asks every replica of the app's front end with {@code ask}: refused by the policy, or the
     * replicas not found (a Service of another namespace not marked as a front end for the app's
     * included), is an unknown observation; each replica's failure is its own answer. What the app
     * may read of a front end in another namespace is {@link OtherNamespaceFrontEnd}'s.
     */
    CompletableFuture<IngressObservation> observe(ZeroDowntimeApp app,
            Function<ControllerReplicas.Replica, CompletableFuture<ReplicaAnswer>> ask) {
        Instant asked = Instant.now();
        TrafficSpec traffic = app.getSpec().getTraffic();
        var refused = policy.refusal(traffic);
        if (refused.isPresent()) {
            return CompletableFuture.completedFuture(IngressObservation.unknown(refused.get(), asked));
        }
        ControllerRef controller = traffic.getController();
        if (controller != null && replicas != null) {
            String namespace = app.getMetadata().getNamespace();
            if (!controller.getNamespace().equals(namespace)) {
                return replicas.find(controller, namespace).thenCompose(found -> found.error() != null
                        ? CompletableFuture.completedFuture(otherNamespace.notFound(app, found, asked))
                        : askAll(found.replicas(), found.source(), ask, asked)
                                .thenApply(seen -> otherNamespace.answered(app, seen)));
            }
            return replicas.find(controller, namespace).thenCompose(found -> found.error() != null
                    ? CompletableFuture.completedFuture(IngressObservation.unknown(found.error(), asked))
                    : askAll(found.replicas(), found.source(), ask, asked));
        }
        String url = traffic.getApiUrl();
        if (url == null || url.isBlank()) {
            return CompletableFuture.completedFuture(IngressObservation.unknown("traffic.controller is not set", asked));
        }
        URI base;
        try {
            base = URI.create(stripSlash(url));
        } catch (IllegalArgumentException e) {
            return CompletableFuture.completedFuture(IngressObservation.unknown("traffic.apiUrl is not a URL", asked));
        }
        String name = base.getPort() < 0 ? base.getHost() : base.getHost() + ":" + base.getPort();
        return askAll(List.of(new ControllerReplicas.Replica(name, stripSlash(url))), "traffic.apiUrl (one instance)",
                ask, asked);
    }

    /**
     * Every replica, one after the other: at most one answer (up to the byte cap) of an app's front
     * end is in memory at a time, however many replicas its {@code traffic.controller} lists. The
     * observation completes when the last one answered or failed.
     */
    static CompletableFuture<IngressObservation> askAll(List<ControllerReplicas.Replica> all, String source,
            Function<ControllerReplicas.Replica, CompletableFuture<ReplicaAnswer>> ask, Instant asked) {
        Map<String, ReplicaAnswer> byName = new LinkedHashMap<>();
        CompletableFuture<Void> chain = CompletableFuture.completedFuture(null);
        for (ControllerReplicas.Replica r : all) {
            chain = chain.thenCompose(done -> ask.apply(r)).thenAccept(answer -> byName.put(answer.replica(), answer));
        }
        return chain.thenApply(done -> IngressObservation.answered(byName, source, asked));
    }

    /**
     * Runs one fetch and its read in one of the {@link #MAX_ANSWERS_IN_MEMORY} slots: {@code work}
     * starts once a slot is free and must have dropped the answer's bytes when its future completes.
     */
    static <T> CompletableFuture<T> oneOfFewAnswers(Supplier<CompletableFuture<T>> work) {
        return ANSWERS.run(work);
    }

    /** A fixed number of slots, handed out in arrival order to work that completes asynchronously. */
    static final class Slots {
        private final int max;
        private int used;
        private final ArrayDeque<CompletableFuture<Void>> waiting = new ArrayDeque<>();

        Slots(int max) {
            this.max = max;
        }

        <T> CompletableFuture<T> run(Supplier<CompletableFuture<T>> work) {
            CompletableFuture<Void> turn;
            synchronized (this) {
                if (used < max) {
                    used++;
                    turn = CompletableFuture.completedFuture(null);
                } else {
                    turn = new CompletableFuture<>();
                    waiting.add(turn);
                }
            }
            return turn.thenCompose(free -> {
                CompletableFuture<T> w;
                try {
                    w = work.get();
                } catch (RuntimeException e) {
                    w = CompletableFuture.failedFuture(e);
                }
                return w.whenComplete((r, e) -> release());
            });
        }

        private void release() {
            CompletableFuture<Void> next;
            synchronized (this) {
                next = waiting.poll();
                if (next == null) {
                    used--;
                }
            }
            if (next != null) {
                // Its work starts on another thread: no chain of releases grows this one's stack.
                ForkJoinPool.commonPool().execute(() -> next.complete(null));
            }
        }

        synchronized int inUse() {
            return used;
        }
    }

    /**
     * One GET, its body capped at the configured size. The request timeout ends at the headers; a
     * second bound (twice the timeout) also ends a body that trickles, and cancels the exchange.
     */
    CompletableFuture<HttpResponse<CappedBody.Chunks>> get(URI uri) {
        HttpRequest request = HttpRequest.newBuilder(uri).timeout(timeout).GET().build();
        CompletableFuture<HttpResponse<CappedBody.Chunks>> sent = http.sendAsync(request, CappedBody.handler(maxBytes));
        return sent.copy().orTimeout(timeout.toMillis() * 2, TimeUnit.MILLISECONDS).whenComplete((r, e) -> {
            if (e != null) {
                sent.cancel(true);
            }
        });
    }

    /** What failed, in our words: the remote host's text (exception messages included) is never repeated. */
    String describe(Throwable e) {
        Throwable t = e;
        while ((t instanceof CompletionException || t instanceof ExecutionException) && t.getCause() != null) {
            t = t.getCause();
        }
        String limit = String.format(Locale.ROOT, "%.1f s", timeout.toMillis() / 1000.0);
        if (t instanceof CappedBody.TooLarge) {
            return "sent a response over " + size(maxBytes);
        }
        if (t instanceof FrontEndJson.OverCap) {
            return t.getMessage();
        }
        if (t instanceof com.fasterxml.jackson.core.exc.StreamConstraintsException c) {
            return FrontEndJson.overCap(c).getMessage();
        }
        if (t instanceof HttpConnectTimeoutException) {
            return "could not be connected to within " + limit;
        }
        if (t instanceof HttpTimeoutException || t instanceof TimeoutException
                || t instanceof java.net.SocketTimeoutException) {
            return "timed out after " + limit;
        }
        if (t instanceof ConnectException) {
            return "could not be connected to (refused or unreachable)";
        }
        if (t instanceof IOException) {
            return "failed while answering (" + t.getClass().getSimpleName() + ")";
        }
        return "could not be asked (" + t.getClass().getSimpleName() + ")";
    }

    static String size(int bytes) {
        return bytes % (1 << 20) == 0 ? (bytes >> 20) + " MiB" : bytes + " bytes";
    }

    static String stripSlash(String s) {
        return s.endsWith("/") ? s.substring(0, s.length() - 1) : s;
    }

    /**
     * What one replica's list held, for a message that must say what was found: how many
     * backends (Traefik's services, Envoy's clusters), the first few named like the app with the
     * addresses they list, and the addresses asked about that are listed but get no new request.
     */
    static final class Tally {
        final Set<String> lookedFor;
        private final String among;
        private final String unit;
        int backends;
        final Map<String, Set<String>> hints = new LinkedHashMap<>();
        /** Addresses asked about that the replica lists but sends no new request to (fenced, draining). */
        final Set<String> listedNotRouted = new TreeSet<>();

        /**
         * @param among where the addresses were looked for, e.g. "the servers of every HTTP service"
         * @param unit the backends' plural, e.g. "HTTP services"
         */
        Tally(Set<String> lookedFor, String among, String unit) {
            this.lookedFor = lookedFor;
            this.among = among;
            this.unit = unit;
        }

        /** Counts one backend; a set to fill with its addresses when it is one of the first named like the app. */
        Set<String> backend(String name, Hints h, int maxHints) {
            backends++;
            if (!h.matches(name) || hints.size() >= maxHints) {
                return null;
            }
            Set<String> listed = new TreeSet<>();
            hints.put(name, listed);
            return listed;
        }

        String describe(Hints h) {
            StringBuilder b = new StringBuilder("looked for "
                    + (lookedFor.isEmpty() ? "no address" : String.join(", ", lookedFor))
                    + " among " + among + "; found " + backends + " " + unit);
            if (hints.isEmpty()) {
                b.append(", none named like ").append(h.namespace()).append("/").append(h.app());
            } else {
                b.append(", named like the app: ");
                List<String> parts = new ArrayList<>();
                hints.forEach((name, listed) -> parts.add(name + " " + (listed.isEmpty() ? "[none listed]" : listed)));
                b.append(String.join(", ", parts));
            }
            return b.toString();
        }
    }

    /**
     * Backends (services, clusters) whose name carries both the app's namespace and name, whatever
     * the front end's naming: listed in a "never seen" message so it says what was found.
     */
    record Hints(String namespace, String app) {

        /** A DrainPolicy's pods are routed under its Services' names, which are often the policy's own. */
        static Hints of(ZeroDowntimeApp app) {
            String policy = Constants.policyOf(app.getMetadata().getName());
            return new Hints(app.getMetadata().getNamespace(), policy != null ? policy : app.getMetadata().getName());
        }

        boolean matches(String backendName) {
            String n = normalize(backendName).toLowerCase(Locale.ROOT);
            return n.contains(normalize(namespace).toLowerCase(Locale.ROOT))
                    && n.contains(normalize(app).toLowerCase(Locale.ROOT));
        }

        static String normalize(String name) {
            return String.join("-", NOT_ALNUM.splitAsStream(name).filter(s -> !s.isEmpty()).toList());
        }
    }
}
