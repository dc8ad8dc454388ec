package dev.zdt.operator.ingress;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Flow;

/**
 * A response body read into memory up to a cap: a larger one (by Content-Length or as it streams)
 * fails with {@link TooLarge} and the exchange is cancelled, so a hostile or broken server cannot
 * fill the operator's heap. A body of a non-200 answer is not read at all.
 */
final class CappedBody implements HttpResponse.BodySubscriber<byte[]> {

    /** The body passed the cap. */
    static final class TooLarge extends IOException {
        TooLarge() {
            super("response body over the cap", null);
        }
    }

    private final int max;
    private final CompletableFuture<byte[]> result = new CompletableFuture<>();
    private final ByteArrayOutputStream out = new ByteArrayOutputStream();
    private Flow.Subscription subscription;

    private CappedBody(int max) {
        this.max = max;
    }

    static HttpResponse.BodyHandler<byte[]> handler(int max) {
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
    private static HttpResponse.BodySubscriber<byte[]> ignored() {
        CappedBody none = new CappedBody(0);
        none.result.complete(new byte[0]);
        return none;
    }

    @Override
    public CompletionStage<byte[]> getBody() {
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
            if (out.size() + b.remaining() > max) {
                subscription.cancel();
                result.completeExceptionally(new TooLarge());
                return;
            }
            byte[] chunk = new byte[b.remaining()];
            b.get(chunk);
            out.writeBytes(chunk);
        }
        subscription.request(1);
    }

    @Override
    public void onError(Throwable t) {
        result.completeExceptionally(t);
    }

    @Override
    public void onComplete() {
        result.complete(out.toByteArray());
    }
}
