package dev.zdt.operator.ingress;

import java.io.IOException;
import java.net.ConnectException;
import java.net.SocketTimeoutException;
import java.net.http.HttpConnectTimeoutException;
import java.net.http.HttpTimeoutException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeoutException;
import java.util.function.Function;

/**
 * What every verifier does the same way around its own question: ask all replicas at once and
 * gather their answers, and say in our own words why a question failed (never the remote host's
 * text, which an exception message may carry).
 */
final class ReplicaQuestions {

    private ReplicaQuestions() {
    }

    /** Every replica at once; the observation completes when the last one answered or failed. */
    static CompletableFuture<IngressObservation> askAll(List<ControllerReplicas.Replica> all, String source,
            Instant asked, Function<ControllerReplicas.Replica, CompletableFuture<ReplicaAnswer>> ask) {
        List<CompletableFuture<ReplicaAnswer>> answers = new ArrayList<>();
        for (ControllerReplicas.Replica r : all) {
            answers.add(ask.apply(r));
        }
        return CompletableFuture.allOf(answers.toArray(CompletableFuture[]::new)).thenApply(done -> {
            Map<String, ReplicaAnswer> byName = new LinkedHashMap<>();
            for (CompletableFuture<ReplicaAnswer> a : answers) {
                ReplicaAnswer answer = a.join();
                byName.put(answer.replica(), answer);
            }
            return IngressObservation.answered(byName, source, asked);
        });
    }

    /** A signal that an answer went over the size cap (a verifier's own, or {@link CappedBody.TooLarge}). */
    static final class TooLarge extends IOException {
        TooLarge() {
            super("response over the size limit");
        }
    }

    /**
     * What failed, as "... could not be connected to", "timed out after 2.0 s" and so on.
     *
     * @param timeout the per-request limit, for the message
     * @param maxBytes the size cap, for the message
     */
    static String describe(Throwable e, Duration timeout, int maxBytes) {
        Throwable t = e;
        while ((t instanceof CompletionException || t instanceof ExecutionException) && t.getCause() != null) {
            t = t.getCause();
        }
        String limit = String.format(Locale.ROOT, "%.1f s", timeout.toMillis() / 1000.0);
        if (t instanceof CappedBody.TooLarge || t instanceof TooLarge) {
            return "sent a response over " + size(maxBytes);
        }
        if (t instanceof HttpConnectTimeoutException) {
            return "could not be connected to within " + limit;
        }
        if (t instanceof HttpTimeoutException || t instanceof TimeoutException || t instanceof SocketTimeoutException) {
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
}
