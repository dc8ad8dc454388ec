package dev.zdt.demo;

import com.sun.net.httpserver.HttpExchange;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;

/**
 * A server-sent events stream on the HTTP port ({@code GET /sse}): a chunked text/event-stream
 * response that carries {@code event: hello}, then one {@code id: N} event per interval, and on the
 * drain signal {@code event: end} followed by the end of the response (the zero-length chunk). A
 * client that reads the end event knows the pod said goodbye; a response that stops without it was
 * cut.
 */
final class SseStream extends TickingStream {

    private final HttpExchange ex;
    private final Runnable onDone;
    private OutputStream out;

    SseStream(StreamHub hub, HttpExchange ex, long from, long intervalMs, Runnable onDone) {
        super(hub, from, intervalMs);
        this.ex = ex;
        this.onDone = onDone;
    }

    @Override
    public String kind() {
        return "sse";
    }

    /** Sends the response head; the events follow on the stream's own thread. */
    void open() throws IOException {
        ex.getResponseHeaders().set("Content-Type", "text/event-stream; charset=utf-8");
        ex.getResponseHeaders().set("Cache-Control", "no-cache");
        // Proxies that buffer responses (nginx) would hold the events back.
        ex.getResponseHeaders().set("X-Accel-Buffering", "no");
        ex.getResponseHeaders().set("X-Pod", hub.pod);
        ex.getResponseHeaders().set("X-Version", hub.version);
        ex.sendResponseHeaders(200, 0); // chunked
        out = ex.getResponseBody();
    }

    @Override
    void sendHello() throws IOException {
        // retry: how long an EventSource waits before it reconnects (the default is ~3 s).
        write("retry: 500\nevent: hello\ndata: " + hub.hello(kind(), id, from) + "\n\n");
    }

    @Override
    void sendMessage(long seq) throws IOException {
        write("id: " + seq + "\ndata: " + hub.message(kind(), id, seq) + "\n\n");
    }

    @Override
    String goodbye(String reason) throws IOException {
        write("event: end\ndata: " + hub.end(reason, lastSeq) + "\n\n");
        out.close(); // the zero-length chunk: the response is complete
        return "drain";
    }

    private void write(String s) throws IOException {
        out.write(s.getBytes(StandardCharsets.UTF_8));
        out.flush();
    }

    @Override
    void release() {
        try {
            ex.close();
        } finally {
            onDone.run();
        }
    }

    @Override
    public void abort() {
        // The JDK server has no way to reset one exchange: closing it ends the response (without the
        // end event, so the client still sees that no goodbye came).
        ex.close();
    }
}
