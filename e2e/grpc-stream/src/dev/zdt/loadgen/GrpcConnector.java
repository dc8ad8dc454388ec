package dev.zdt.loadgen;

import dev.zdt.grpcstream.Ticks;
import io.grpc.CallOptions;
import io.grpc.ClientCall;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.Status;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.shaded.io.netty.channel.ChannelOption;

import java.io.IOException;
import java.net.ConnectException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Matcher;

/**
 * The gRPC kind of {@code loadgen streams}: one call of {@code Ticks} per connection, on a channel of
 * its own, so that each attempt is a new TCP connection (a front end balances it like any other, and
 * the record names the pod that served it) and nothing is retried behind the record's back (retries
 * off). A call ends {@code clean} only with UNAVAILABLE and the server's goodbye trailer; any other
 * end of an opened call is abnormal: {@code reset} (the connection broke), {@code eof} (it closed
 * without a status), {@code grpc_<CODE>} (another status, e.g. CANCELLED when the server cut it).
 */
final class GrpcConnector implements StreamGen.Connector {

    private final StreamGen g;
    private final String host;
    private final int port;

    GrpcConnector(StreamGen g) {
        this.g = g;
        int colon = g.grpcTarget.lastIndexOf(':');
        this.host = g.grpcTarget.substring(0, colon);
        this.port = Integer.parseInt(g.grpcTarget.substring(colon + 1));
    }

    @Override
    public void connection(StreamGen.StreamState st, StreamGen.Record r) {
        NettyChannelBuilder b = NettyChannelBuilder.forAddress(host, port)
                .usePlaintext()
                .directExecutor() // the listener only counts and parses
                .disableRetry()
                .maxInboundMessageSize(StreamGen.MAX_LINE)
                .withOption(ChannelOption.CONNECT_TIMEOUT_MILLIS, (int) Math.min(Integer.MAX_VALUE, g.connectTimeoutMs));
        if (g.hostHeader != null) {
            b.overrideAuthority(g.hostHeader);
        }
        ManagedChannel channel = b.build();
        try {
            call(channel, st, r);
        } finally {
            channel.shutdownNow();
        }
    }

    private void call(ManagedChannel channel, StreamGen.StreamState st, StreamGen.Record r) {
        ClientCall<String, String> call = channel.newCall(Ticks.METHOD, CallOptions.DEFAULT);
        CompletableFuture<Void> opened = new CompletableFuture<>();
        CompletableFuture<Void> closed = new CompletableFuture<>();
        AtomicLong lastData = new AtomicLong(System.nanoTime());
        call.start(new ClientCall.Listener<>() {
            @Override
            public void onHeaders(Metadata headers) {
                synchronized (r) {
                    r.connectedEpochMs = System.currentTimeMillis();
                }
                g.openNow.incrementAndGet();
                opened.complete(null);
            }

            @Override
            public void onMessage(String m) {
                lastData.set(System.nanoTime());
                synchronized (r) {
                    if (m.contains("\"hello\":true")) {
                        st.onHello(r, m);
                    } else {
                        Matcher sm = StreamGen.SEQ.matcher(m);
                        if (sm.find()) {
                            st.onSeq(r, Long.parseLong(sm.group(1)));
                        }
                    }
                }
                call.request(1);
            }

            @Override
            public void onClose(Status status, Metadata trailers) {
                synchronized (r) {
                    if (r.closeKind == null) {
                        classify(r, status, trailers);
                    }
                }
                if (opened.isDone()) {
                    g.openNow.decrementAndGet();
                }
                opened.complete(null);
                closed.complete(null);
            }
        }, new Metadata());
        call.sendMessage("from=" + r.from + (g.intervalMs > 0 ? "&intervalMs=" + g.intervalMs : ""));
        call.halfClose();
        call.request(1);

        // The response head (the first message comes with it), or the end of an attempt that never opened.
        try {
            opened.get(g.connectTimeoutMs, TimeUnit.MILLISECONDS);
        } catch (TimeoutException e) {
            end(call, r, "timeout", "no response head within " + g.connectTimeoutMs + " ms", closed);
            return;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            end(call, r, StreamGen.CLIENT_STOP, "", closed);
            return;
        } catch (ExecutionException e) {
            return; // not completed exceptionally
        }
        String why = g.awaitEnd(r, closed, lastData);
        if (why != null) {
            end(call, r, StreamGen.CLIENT_STOP, "", closed); // the record says why, unless the server's end came first
        }
    }

    /** Ends the call from this side, the record saying why (unless the server's end came first). */
    private static void end(ClientCall<String, String> call, StreamGen.Record r, String kind, String detail,
            CompletableFuture<Void> closed) {
        synchronized (r) {
            if (r.closeKind == null) {
                r.closeKind = kind;
                r.detail = detail;
            }
        }
        call.cancel(kind, null);
        try {
            closed.get(1, TimeUnit.SECONDS);
        } catch (Exception e) {
            // the channel's shutdownNow cuts it
        }
    }

    static void classify(StreamGen.Record r, Status status, Metadata trailers) {
        String end = trailers == null ? null : trailers.get(Ticks.END);
        Throwable cause = status.getCause();
        r.closeCode = status.getCode().value();
        r.detail = StreamGen.trim(status.getCode() + ": " + status.getDescription()
                + (cause == null ? "" : " (" + cause + ")"));
        if (!r.opened()) {
            // The attempt never opened: nothing listened, or the server refused the call (draining, full, bad request).
            r.closeKind = cause instanceof ConnectException ? "refused" : "grpc_" + status.getCode();
            return;
        }
        if (status.getCode() == Status.Code.UNAVAILABLE && end != null) {
            r.closeKind = StreamGen.CLEAN;
            r.detail = StreamGen.trim(end);
        } else if (status.getCode() == Status.Code.UNAVAILABLE) {
            r.closeKind = cause instanceof IOException ? "reset" : "eof";
        } else {
            r.closeKind = "grpc_" + status.getCode();
        }
    }
}
