package dev.zdt.demo;

import dev.zdt.grpcstream.Ticks;
import io.grpc.Metadata;
import io.grpc.Status;
import io.grpc.stub.ServerCallStreamObserver;

import java.io.IOException;

/**
 * One call of {@code Ticks}: the hello and the numbered messages as response messages, and on the
 * drain signal the goodbye, status UNAVAILABLE with the {@link Ticks#END} trailer. The stream waits
 * until the status has gone out before it counts as ended (as a WebSocket waits for the close
 * handshake), so the app does not exit with goodbyes still in its buffers.
 *
 * <p>Writes follow gRPC's flow control: a message waits until the call is ready for it, so a client
 * that stops reading holds at most one message past the window, never an unbounded queue.
 */
final class GrpcStream extends TickingStream {

    private final GrpcStreamServer server;
    private final ServerCallStreamObserver<String> out;
    private final Object state = new Object();
    private boolean ending;        // end() asked for a goodbye, or the loop was stopped
    private boolean cancelled;     // the client cancelled, or the connection broke
    private boolean statusSent;    // the final status went out (onClose)
    private boolean aborted;
    private boolean finished;      // onNext/onError may no longer be called

    GrpcStream(StreamHub hub, GrpcStreamServer server, ServerCallStreamObserver<String> out, long from, long intervalMs) {
        super(hub, from, intervalMs);
        this.server = server;
        this.out = out;
    }

    @Override
    public String kind() {
        return "grpc";
    }

    /** Hooks the call's events; gRPC allows it only before the method returns. */
    void listen() {
        out.setOnReadyHandler(this::wake);
        out.setOnCancelHandler(() -> {
            synchronized (state) {
                cancelled = true;
                state.notifyAll();
            }
            stopLoop("client");
        });
        out.setOnCloseHandler(() -> {
            synchronized (state) {
                statusSent = true;
                state.notifyAll();
            }
        });
    }

    private void wake() {
        synchronized (state) {
            state.notifyAll();
        }
    }

    @Override
    public void end(String reason) {
        synchronized (state) {
            ending = true;
            state.notifyAll();
        }
        super.end(reason);
    }

    @Override
    void sendHello() throws IOException {
        send(hub.hello(kind(), id, from));
    }

    @Override
    void sendMessage(long seq) throws IOException {
        send(hub.message(kind(), id, seq));
    }

    private void send(String message) throws IOException {
        synchronized (state) {
            // Once the goodbye is asked for, the message goes out anyway (at most one past the window),
            // so the stream reaches its goodbye instead of waiting on a client that does not read.
            while (!out.isReady() && !ending && !cancelled) {
                try {
                    state.wait();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new IOException("interrupted");
                }
            }
            if (cancelled) {
                throw new IOException("cancelled by the client");
            }
        }
        out.onNext(message);
    }

    @Override
    String goodbye(String reason) throws IOException {
        Metadata trailers = new Metadata();
        trailers.put(Ticks.END, hub.end(reason, lastSeq));
        synchronized (state) {
            if (cancelled) {
                return "client";
            }
            finished = true;
        }
        out.onError(Status.UNAVAILABLE
                .withDescription(reason + ": pod " + hub.pod + " is leaving; reconnect and resume after seq " + lastSeq)
                .asRuntimeException(trailers));
        synchronized (state) {
            while (!statusSent && !cancelled && !aborted) {
                try {
                    state.wait();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    return "aborted";
                }
            }
            return statusSent ? "drain" : aborted ? "aborted" : "client";
        }
    }

    @Override
    void release() {
        synchronized (state) {
            if (finished || cancelled) {
                return;
            }
            finished = true;
        }
        // The loop ended by an error of its own: the client still gets a status.
        try {
            out.onError(Status.INTERNAL.withDescription("stream failed").asRuntimeException());
        } catch (RuntimeException e) {
            // the call is gone already
        }
    }

    @Override
    public void abort() {
        synchronized (state) {
            aborted = true;
            state.notifyAll();
        }
        // The call's observer cannot reset one call, and its status is queued behind what the client did
        // not read: cutting the server's connections resets every call left, which the deadline asks for.
        server.cut();
    }
}
