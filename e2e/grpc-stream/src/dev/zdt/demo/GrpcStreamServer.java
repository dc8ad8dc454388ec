package dev.zdt.demo;

import dev.zdt.grpcstream.Ticks;
import io.grpc.Context;
import io.grpc.Contexts;
import io.grpc.Grpc;
import io.grpc.Metadata;
import io.grpc.Server;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.ServerInterceptors;
import io.grpc.ServerServiceDefinition;
import io.grpc.Status;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.ServerCalls;
import io.grpc.stub.StreamObserver;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BiConsumer;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * The demo app's gRPC server: {@code zdt.demo.TickStream/Ticks} ({@link Ticks}) on {@code GRPC_PORT},
 * its streams counted, bounded and drained by the app's {@link StreamHub} like the SSE and WebSocket
 * ones. On the drain signal the server stops taking calls and sends GOAWAY ({@code shutdown()}), and
 * every open stream ends with UNAVAILABLE and the goodbye trailer; the app then waits for the calls and
 * connections to close, at most until its shutdown deadline.
 *
 * <p>Bounds, since this port faces whatever reaches the pod: a request of at most 1 KiB
 * (RESOURCE_EXHAUSTED, unread), request headers of at most 8 KiB, 5 s for a new connection to start
 * HTTP/2, MAX_STREAMS open streams in all (RESOURCE_EXHAUSTED past them) and as many per connection,
 * 200 stream resets per 10 s on a connection (the rapid-reset flood), idle connections closed after
 * {@link #IDLE_SECONDS}, and four threads for the calls' callbacks (each stream writes on its own).
 */
final class GrpcStreamServer implements GrpcStreams {

    static final int MAX_METADATA_BYTES = 8192;
    static final int HANDSHAKE_TIMEOUT_SECONDS = 5;
    static final int IDLE_SECONDS = 120;

    private static final Context.Key<SocketAddress> REMOTE = Context.key("remote");
    // gRPC logs a stack trace per refused message or broken connection: a client could fill the pod's
    // log with them. The app's own lines say what happened to each stream; the library keeps SEVERE.
    // (A field: the logging system keeps loggers only weakly, and the level would go with it.)
    private static final Logger GRPC_LOG = Logger.getLogger("io.grpc");

    private final StreamHub hub;
    private final BiConsumer<String, String> log;
    private final ExecutorService callbacks;
    private Server server;

    private GrpcStreamServer(StreamHub hub, BiConsumer<String, String> log) {
        this.hub = hub;
        this.log = log;
        AtomicInteger n = new AtomicInteger();
        this.callbacks = Executors.newFixedThreadPool(4, r -> {
            Thread t = new Thread(r, "grpc-call-" + n.incrementAndGet());
            t.setDaemon(true);
            return t;
        });
    }

    /** Called by name from {@link GrpcStreams#start}. */
    static GrpcStreams start(StreamHub hub, String bindAddress, int port, BiConsumer<String, String> log)
            throws IOException {
        GRPC_LOG.setLevel(Level.SEVERE);
        GrpcStreamServer s = new GrpcStreamServer(hub, log);
        ServerServiceDefinition service = ServerServiceDefinition.builder(Ticks.SERVICE)
                .addMethod(Ticks.METHOD, ServerCalls.asyncServerStreamingCall(s::ticks))
                .build();
        s.server = NettyServerBuilder.forAddress(new InetSocketAddress(bindAddress, port))
                .addService(ServerInterceptors.intercept(service, new RemoteAddress()))
                .executor(s.callbacks)
                .maxInboundMessageSize(Ticks.MAX_REQUEST_BYTES)
                .maxInboundMetadataSize(MAX_METADATA_BYTES)
                .handshakeTimeout(HANDSHAKE_TIMEOUT_SECONDS, TimeUnit.SECONDS)
                .maxConcurrentCallsPerConnection(Math.max(1, hub.maxStreams))
                .maxRstFramesPerWindow(200, 10)
                .maxConnectionIdle(IDLE_SECONDS, TimeUnit.SECONDS)
                .build()
                .start();
        // GOAWAY on the first drain signal, before the streams get their goodbye: a client that
        // reconnects is not given this connection again, and the listener is closed.
        hub.onDrain(s.server::shutdown);
        return s;
    }

    @Override
    public int port() {
        return server.getPort();
    }

    @Override
    public boolean awaitTermination(long deadlineNanos) {
        server.shutdown();
        try {
            if (server.awaitTermination(Math.max(0, deadlineNanos - System.nanoTime()), TimeUnit.NANOSECONDS)) {
                return true;
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        log.accept("grpc-cut", "reason=timeout");
        server.shutdownNow();
        return false;
    }

    /** Cuts every call and connection at once: the drain ran out of time for the streams left. */
    void cut() {
        server.shutdownNow();
    }

    private void ticks(String request, StreamObserver<String> observer) {
        ServerCallStreamObserver<String> out = (ServerCallStreamObserver<String>) observer;
        long[] p;
        try {
            p = hub.params(request, null);
        } catch (IllegalArgumentException e) {
            out.onError(Status.INVALID_ARGUMENT.withDescription(e.getMessage()).asRuntimeException());
            return;
        }
        GrpcStream s = new GrpcStream(hub, this, out, p[0], p[1]);
        String refusal = hub.admit(s);
        if (refusal != null) {
            // Draining: UNAVAILABLE without the goodbye trailer, so the client tries again (elsewhere);
            // full: RESOURCE_EXHAUSTED, as the other kinds' 503 "too many streams".
            Status status = hub.draining() ? Status.UNAVAILABLE : Status.RESOURCE_EXHAUSTED;
            out.onError(status.withDescription(refusal.trim()).asRuntimeException());
            return;
        }
        s.listen();
        hub.logOpen(s, p[0], p[1], String.valueOf(REMOTE.get()));
        Thread t = new Thread(s, "grpc-" + s.id());
        t.setDaemon(true);
        t.start();
    }

    /** Puts the caller's address where the method sees it (the stream-open log line names it). */
    private static final class RemoteAddress implements ServerInterceptor {
        @Override
        public <Q, R> ServerCall.Listener<Q> interceptCall(ServerCall<Q, R> call, Metadata headers,
                ServerCallHandler<Q, R> next) {
            Context c = Context.current().withValue(REMOTE, call.getAttributes().get(Grpc.TRANSPORT_ATTR_REMOTE_ADDR));
            return Contexts.interceptCall(c, call, headers, next);
        }
    }
}
