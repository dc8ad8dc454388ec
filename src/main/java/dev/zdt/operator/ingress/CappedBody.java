package dev.zdt.operator.ingress;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.SequenceInputStream;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Flow;

/**
 * A response body read into memory up to a cap: a larger one (by Content-Length or as it streams)
 * fails with {@link TooLarge} and the exchange is cancelled, so a hostile or broken server cannot
 * fill the operator's heap. A body of a non-200 answer is not read at all. The body is kept as the
 * chunks it arrived in, never copied into one array: an answer costs its own bytes, once.
 */
final class CappedBody implements HttpResponse.BodySubscriber<CappedBody.Chunks> {

    /** The body passed the cap. */
    static final class TooLarge extends IOException {
        TooLarge() {
            super("response body over the cap", null);
        }
    }

    /** A body as it arrived: read it as a stream ({@link #stream()}), parse it with a streaming parser. */
    record Chunks(List<byte[]> parts, int length) {

        static final Chunks EMPTY = new Chunks(List.of(), 0);

        static Chunks of(byte[] bytes) {
            return new Chunks(List.of(bytes), bytes.length);
        }

        InputStream stream() {
            List<InputStream> in = new ArrayList<>(parts.size());
            for (byte[] p : parts) {
                in.add(new ByteArrayInputStream(p));
            }
            return new SequenceInputStream(Collections.enumeration(in));
        }
    }

    private final int max;
    private final CompletableFuture<Chunks> result = new CompletableFuture<>();
    private final List<byte[]> parts = new ArrayList<>();
    private int size;
    private Flow.Subscription subscription;

    private CappedBody(int max) {
        this.max = max;
    }

    static HttpResponse.BodyHandler<Chunks> handler(int max) {
        return info -> {
            if (info.statusCode() != 200) {
                return ignored();
            }
            long declared = info.headers().firstValueAsLong("Content-Length").orElse(-1);
            if (declared > max) {
                CappedBody refused = new CappedBody(0);
                refused.result.completeExceptionally(new TooLarge());
                return refused;
            }
            return new CappedBody(max);
        };
    }

    /** Cancels at once: the body of an error answer is never read (nor echoed). */
    private static HttpResponse.BodySubscriber<Chunks> ignored() {
        CappedBody none = new CappedBody(0);
        none.result.complete(Chunks.EMPTY);
        return none;
    }

    @Override
    public CompletionStage<Chunks> getBody() {
        return result;
    }

    @Override
    public void onSubscribe(Flow.Subscription s) {
        subscription = s;
        if (result.isDone()) {
            s.cancel();
        } else {
            s.request(1);
        }
    }

    @Override
    public void onNext(List<ByteBuffer> buffers) {
        if (result.isDone()) {
            return;
        }
        for (ByteBuffer b : buffers) {
            if ((long) size + b.remaining() > max) {
                subscription.cancel();
                parts.clear();
                result.completeExceptionally(new TooLarge());
                return;
            }
            if (!b.hasRemaining()) {
                continue;
            }
            byte[] chunk = new byte[b.remaining()];
            b.get(chunk);
            parts.add(chunk);
            size += chunk.length;
        }
        subscription.request(1);
    }

    @Override
    public void onError(Throwable t) {
        parts.clear();
        result.completeExceptionally(t);
    }

    @Override
    public void onComplete() {
        result.complete(new Chunks(List.copyOf(parts), size));
        parts.clear();
    }
}
