package dev.zdt.loadgen;

import java.io.BufferedInputStream;
import java.io.BufferedWriter;
import java.io.ByteArrayOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.ConnectException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpTimeoutException;
import java.net.http.WebSocket;
import java.net.http.WebSocketHandshakeException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * {@code loadgen streams}: keeps N WebSocket, SSE and gRPC streams open against the demo app (directly
 * or through a front end), reconnects each one whenever it closes and resumes after the last message
 * it got, and records every connection: when it opened and closed, how it closed (the server's
 * goodbye, or a cut), which pod served it, how many messages came, how many were missing or came
 * twice, and how long the stream was without a connection.
 *
 * <p>SSE runs on raw sockets for the same reasons as the request mode: a new connection per
 * attempt, any Host header, and an exact view of how the response ended (the zero-length chunk,
 * a bare EOF, a reset). WebSocket uses the JDK's client (java.net.http.WebSocket), an implementation
 * independent of the demo app's server. gRPC is {@link Connector} {@code GrpcConnector}, in
 * e2e/grpc-stream: this jar stays JDK-only, and the {@code loadgen} script puts that module on the
 * class path when --grpc-target is given.
 */
public final class StreamGen {

    static final String USAGE = String.join("\n",
            "usage: loadgen streams [--ws-url ws://HOST:PORT/ws --ws N] [--sse-url http://HOST:PORT/sse --sse N]",
            "         [--grpc-target HOST:PORT --grpc N]",
            "         [--host-header H] [--duration 60s] [--until-file F] [--interval-ms MS] [--resume true]",
            "         [--connect-timeout 5s] [--idle-timeout 5s] [--retry-delay 100ms] [--out F.jsonl] [--summary F.json]",
            "Keeps the streams open, reconnects each one when it closes and resumes after its last message;",
            "--out: one JSON line per connection, --summary: totals (stdout without it). See e2e/loadgen/README.md.");

    static final Pattern SEQ = Pattern.compile("\"seq\":(\\d+)");
    static final Pattern POD = Pattern.compile("\"pod\":\"([^\"]*)\"");
    static final Pattern STATUS = Pattern.compile("^HTTP/1\\.[01] (\\d{3})");
    static final int MAX_LINE = 64 * 1024;

    // Close kinds that are not a failure: the server said goodbye, or this client ended the run.
    static final String CLEAN = "clean";
    static final String CLIENT_STOP = "client_stop";

    final URI wsUrl;
    final URI sseUrl;
    final String grpcTarget;
    final int wsCount;
    final int sseCount;
    final int grpcCount;
    final String hostHeader;
    final long durationMs;
    final Path untilFile;
    final long intervalMs;
    final boolean resume;
    final long connectTimeoutMs;
    final long idleTimeoutMs;
    final long retryDelayMs;
    final Path out;
    final Path summary;

    volatile boolean stop;
    String stopReason = "duration";
    final List<Record> records = Collections.synchronizedList(new ArrayList<>());
    final AtomicLong messages = new AtomicLong();
    final AtomicLong openNow = new AtomicLong();
    HttpClient http;
    Connector grpc;

    /** A stream kind that lives in another module (gRPC): one connection of a stream, as wsConnection. */
    interface Connector {
        void connection(StreamState st, Record r);
    }

    static final String GRPC_CONNECTOR = "dev.zdt.loadgen.GrpcConnector";

    StreamGen(Map<String, String> a) {
        wsUrl = a.containsKey("ws-url") ? URI.create(a.get("ws-url")) : null;
        sseUrl = a.containsKey("sse-url") ? URI.create(a.get("sse-url")) : null;
        grpcTarget = a.get("grpc-target");
        wsCount = count(a, "ws", wsUrl != null);
        sseCount = count(a, "sse", sseUrl != null);
        grpcCount = count(a, "grpc", grpcTarget != null);
        if (wsCount + sseCount + grpcCount == 0) {
            throw new IllegalArgumentException(
                    "give --ws-url, --sse-url or --grpc-target (and --ws N / --sse N / --grpc N)");
        }
        if (grpcTarget != null && !hostPort(grpcTarget)) {
            throw new IllegalArgumentException("--grpc-target must be host:port (plaintext), got " + grpcTarget);
        }
        if (wsUrl != null && !"ws".equals(wsUrl.getScheme())) {
            throw new IllegalArgumentException("--ws-url must be ws://host:port/path (no TLS), got " + wsUrl);
        }
        if (sseUrl != null && !"http".equals(sseUrl.getScheme())) {
            throw new IllegalArgumentException("--sse-url must be http://host:port/path (no TLS), got " + sseUrl);
        }
        hostHeader = a.get("host-header");
        untilFile = a.containsKey("until-file") ? Path.of(a.get("until-file")) : null;
        durationMs = Config.durationMs("duration", a.getOrDefault("duration", untilFile != null ? "600s" : "60s"));
        intervalMs = a.containsKey("interval-ms") ? Math.round(Config.positiveDouble("interval-ms", a.get("interval-ms"))) : 0;
        resume = Config.bool("resume", a.getOrDefault("resume", "true"));
        connectTimeoutMs = Config.durationMs("connect-timeout", a.getOrDefault("connect-timeout", "5s"));
        idleTimeoutMs = Config.durationMs("idle-timeout", a.getOrDefault("idle-timeout", "5s"));
        retryDelayMs = Config.durationMs("retry-delay", a.getOrDefault("retry-delay", "100ms"));
        out = a.containsKey("out") ? Path.of(a.get("out")) : null;
        summary = a.containsKey("summary") ? Path.of(a.get("summary")) : null;
    }

    static boolean hostPort(String s) {
        if (!s.matches("[^:/\\s]+:\\d{1,5}")) {
            return false;
        }
        int port = Integer.parseInt(s.substring(s.lastIndexOf(':') + 1));
        return port >= 1 && port <= 65535;
    }

    private static int count(Map<String, String> a, String name, boolean target) {
        if (!a.containsKey(name)) {
            return target ? 1 : 0;
        }
        if (!target) {
            String suffix = name.equals("grpc") ? "-target" : "-url";
            throw new IllegalArgumentException("--" + name + " needs --" + name + suffix);
        }
        try {
            int n = Integer.parseInt(a.get(name).trim());
            if (n >= 0 && n <= 10_000) {
                return n;
            }
        } catch (NumberFormatException e) {
            // reported below
        }
        throw new IllegalArgumentException("--" + name + " must be an integer from 0 to 10000, got '" + a.get(name) + "'");
    }

    static Map<String, String> parseArgs(String[] args) {
        Map<String, String> a = new TreeMap<>();
        for (int i = 0; i < args.length; i++) {
            String arg = args[i];
            if (arg.equals("-h") || arg.equals("--help")) {
                return null;
            }
            if (!arg.startsWith("--")) {
                throw new IllegalArgumentException("unexpected argument '" + arg + "'");
            }
            String name;
            String value;
            int eq = arg.indexOf('=');
            if (eq > 0) {
                name = arg.substring(2, eq);
                value = arg.substring(eq + 1);
            } else {
                if (i + 1 >= args.length) {
                    throw new IllegalArgumentException(arg + " needs a value");
                }
                name = arg.substring(2);
                value = args[++i];
            }
            switch (name) {
                case "ws-url", "sse-url", "grpc-target", "ws", "sse", "grpc", "host-header", "duration", "until-file",
                        "interval-ms", "resume", "connect-timeout", "idle-timeout", "retry-delay", "out", "summary" ->
                        a.put(name, value);
                default -> throw new IllegalArgumentException("unknown flag --" + name);
            }
        }
        return a;
    }

    public static void main(String[] args) throws Exception {
        StreamGen g;
        try {
            Map<String, String> a = parseArgs(args);
            if (a == null) {
                System.out.println(USAGE);
                return;
            }
            g = new StreamGen(a);
            g.grpc = g.grpcCount > 0 ? g.loadConnector() : null;
        } catch (IllegalArgumentException e) {
            System.err.println("loadgen streams: " + e.getMessage());
            System.err.println(USAGE);
            System.exit(2);
            return;
        }
        g.run();
    }

    Connector loadConnector() {
        try {
            return (Connector) Class.forName(GRPC_CONNECTOR).getDeclaredConstructor(StreamGen.class).newInstance(this);
        } catch (ClassNotFoundException | LinkageError e) {
            throw new IllegalArgumentException("--grpc needs the gRPC module on the class path: build it with "
                    + "e2e/grpc-stream/build.sh; e2e/loadgen/loadgen adds it when it is given --grpc-target (" + e + ")");
        } catch (ReflectiveOperationException e) {
            throw new IllegalArgumentException("the gRPC module on the class path does not fit this loadgen: " + e);
        }
    }

    /** One connection (or attempt) of one logical stream: a line of the --out file. */
    static final class Record {
        String kind;
        int stream;
        int conn;
        long openEpochMs;
        long connectedEpochMs = -1;   // 101 / 200 head received; -1: the attempt never opened
        long closeEpochMs;
        String closeKind;
        int closeCode = -1;           // WebSocket close code; HTTP status of a refused attempt
        String detail = "";
        String pod = "";
        long from;
        long firstSeq = -1;
        long lastSeq = -1;
        long messages;
        long lost;
        long duplicated;
        double reconnectMs = -1;      // from the previous connection's end to this one's hello; -1: first, or none

        boolean opened() {
            return connectedEpochMs >= 0;
        }

        boolean abnormal() {
            return opened() && !CLEAN.equals(closeKind) && !CLIENT_STOP.equals(closeKind);
        }

        String json() {
            return "{\"kind\":\"" + kind + "\",\"stream\":" + stream + ",\"conn\":" + conn + ",\"openEpochMs\":"
                    + openEpochMs + ",\"connectedEpochMs\":" + (opened() ? String.valueOf(connectedEpochMs) : "null")
                    + ",\"closeEpochMs\":" + closeEpochMs + ",\"closeKind\":\"" + closeKind + "\",\"closeCode\":"
                    + (closeCode < 0 ? "null" : String.valueOf(closeCode)) + ",\"detail\":\"" + esc(detail)
                    + "\",\"pod\":\"" + esc(pod) + "\",\"from\":" + from + ",\"firstSeq\":"
                    + (firstSeq < 0 ? "null" : String.valueOf(firstSeq)) + ",\"lastSeq\":"
                    + (lastSeq < 0 ? "null" : String.valueOf(lastSeq)) + ",\"messages\":" + messages + ",\"lost\":" + lost
                    + ",\"duplicated\":" + duplicated + ",\"reconnectMs\":"
                    + (reconnectMs < 0 ? "null" : String.format(Locale.ROOT, "%.1f", reconnectMs)) + "}";
        }
    }

    /** What a logical stream carries from one connection to the next. */
    final class StreamState {
        final String kind;
        final int index;
        long lastSeq;             // the highest seq received so far, 0 before any
        long interruptedNanos = -1; // when the last connection that had opened ended
        int conn;

        StreamState(String kind, int index) {
            this.kind = kind;
            this.index = index;
        }

        /** Counts one received message against the sequence so far. */
        void onSeq(Record r, long seq) {
            r.messages++;
            messages.incrementAndGet();
            if (r.firstSeq < 0) {
                r.firstSeq = seq;
            }
            if (seq <= lastSeq) {
                r.duplicated++;
            } else {
                r.lost += seq - lastSeq - 1;
                lastSeq = seq;
            }
            r.lastSeq = Math.max(r.lastSeq, seq);
        }

        void onHello(Record r, String data) {
            Matcher m = POD.matcher(data);
            if (m.find()) {
                r.pod = m.group(1);
            }
            if (interruptedNanos >= 0 && r.reconnectMs < 0) {
                r.reconnectMs = (System.nanoTime() - interruptedNanos) / 1e6;
            }
        }

        long resumeFrom() {
            return resume ? lastSeq + 1 : 1;
        }

        void loop() {
            while (!stop) {
                Record r = new Record();
                r.kind = kind;
                r.stream = index;
                r.conn = ++conn;
                r.from = resumeFrom();
                r.openEpochMs = System.currentTimeMillis();
                try {
                    if (kind.equals("ws")) {
                        wsConnection(this, r);
                    } else if (kind.equals("sse")) {
                        sseConnection(this, r);
                    } else {
                        grpc.connection(this, r);
                    }
                } catch (RuntimeException e) {
                    r.closeKind = "error";
                    r.detail = e.toString();
                }
                r.closeEpochMs = System.currentTimeMillis();
                if (r.opened()) {
                    interruptedNanos = System.nanoTime();
                }
                if (stop && r.closeKind == null) {
                    r.closeKind = CLIENT_STOP;
                }
                if (r.closeKind == null) {
                    r.closeKind = "error";
                }
                records.add(r);
                // After a goodbye, reconnect at once (that is what the goodbye asks for); after a failure,
                // wait a little so a dead target is not hammered.
                if (!stop && !CLEAN.equals(r.closeKind)) {
                    sleepUntilStop(retryDelayMs);
                }
            }
        }
    }

    String query(URI base, long from) {
        String q = base.getRawQuery();
        StringBuilder b = new StringBuilder(q == null || q.isEmpty() ? "" : q + "&");
        b.append("from=").append(from);
        if (intervalMs > 0) {
            b.append("&intervalMs=").append(intervalMs);
        }
        return b.toString();
    }

    // --- SSE over a raw socket ----------------------------------------------------------------------

    void sseConnection(StreamState st, Record r) {
        int port = sseUrl.getPort() < 0 ? 80 : sseUrl.getPort();
        String path = (sseUrl.getRawPath() == null || sseUrl.getRawPath().isEmpty() ? "/" : sseUrl.getRawPath())
                + "?" + query(sseUrl, r.from);
        String host = hostHeader != null ? hostHeader : sseUrl.getHost() + (sseUrl.getPort() < 0 ? "" : ":" + port);
        try (Socket s = new Socket()) {
            Closer closer = new Closer(s);
            closers.add(closer);
            try {
                s.setTcpNoDelay(true);
                s.connect(new InetSocketAddress(sseUrl.getHost(), port), (int) connectTimeoutMs);
                s.setSoTimeout((int) Math.max(connectTimeoutMs, idleTimeoutMs));
                OutputStream o = s.getOutputStream();
                String req = "GET " + path + " HTTP/1.1\r\nHost: " + host + "\r\nUser-Agent: zdt-loadgen-streams\r\n"
                        + "Accept: text/event-stream\r\nCache-Control: no-cache\r\n"
                        + (resume && st.lastSeq > 0 ? "Last-Event-ID: " + st.lastSeq + "\r\n" : "")
                        + "Connection: close\r\n\r\n";
                o.write(req.getBytes(StandardCharsets.ISO_8859_1));
                o.flush();
                InputStream in = new BufferedInputStream(s.getInputStream());
                String status = readLine(in);
                Matcher m = STATUS.matcher(status == null ? "" : status);
                if (!m.find()) {
                    r.closeKind = status == null ? "eof" : "bad_response";
                    r.detail = status == null ? "closed before a response" : "status line: " + trim(status);
                    return;
                }
                int code = Integer.parseInt(m.group(1));
                boolean chunked = false;
                long length = -1;
                String line;
                while ((line = readLine(in)) != null && !line.isEmpty()) {
                    String l = line.toLowerCase(Locale.ROOT);
                    if (l.startsWith("transfer-encoding:") && l.contains("chunked")) {
                        chunked = true;
                    } else if (l.startsWith("content-length:")) {
                        length = Long.parseLong(l.substring(15).trim());
                    } else if (l.startsWith("x-pod:")) {
                        r.pod = line.substring(6).trim();
                    }
                }
                if (line == null) {
                    r.closeKind = "eof";
                    r.detail = "closed in the response head";
                    return;
                }
                if (code != 200) {
                    r.closeKind = "http_" + code;
                    r.closeCode = code;
                    return;
                }
                r.connectedEpochMs = System.currentTimeMillis();
                openNow.incrementAndGet();
                try {
                    s.setSoTimeout((int) idleTimeoutMs);
                    InputStream body = chunked ? new Chunked(in) : length >= 0 ? new Limited(in, length) : in;
                    readEvents(st, r, body);
                } finally {
                    openNow.decrementAndGet();
                }
            } finally {
                closers.remove(closer);
            }
        } catch (ConnectException e) {
            r.closeKind = "refused";
            r.detail = e.getMessage();
        } catch (SocketTimeoutException e) {
            if (stop) {
                return;
            }
            r.closeKind = r.opened() ? "stalled" : "timeout";
            r.detail = r.opened() ? "no data for " + idleTimeoutMs + " ms" : "no response within the timeout";
        } catch (IOException e) {
            if (stop) {
                return; // our own close at the end of the run
            }
            r.closeKind = e instanceof EOFException ? "eof" : "reset";
            r.detail = trim(String.valueOf(e.getMessage()));
        }
    }

    /** Reads events until the body ends; sets closeKind from how it ended. */
    void readEvents(StreamState st, Record r, InputStream body) throws IOException {
        String event = "";
        StringBuilder data = new StringBuilder();
        boolean sawEnd = false;
        String line;
        while ((line = readLine(body)) != null) {
            if (line.isEmpty()) {
                String d = data.toString();
                if (event.equals("hello")) {
                    st.onHello(r, d);
                } else if (event.equals("end")) {
                    sawEnd = true;
                    r.detail = trim(d);
                } else if (!d.isEmpty()) {
                    Matcher m = SEQ.matcher(d);
                    if (m.find()) {
                        st.onSeq(r, Long.parseLong(m.group(1)));
                    }
                }
                event = "";
                data.setLength(0);
            } else if (line.startsWith("event:")) {
                event = line.substring(6).trim();
            } else if (line.startsWith("data:")) {
                if (data.length() > 0) {
                    data.append('\n');
                }
                data.append(line.substring(5).trim());
                if (data.length() > MAX_LINE) {
                    throw new IOException("event over " + MAX_LINE + " bytes");
                }
            }
        }
        // The body is complete (the zero-length chunk, or all of Content-Length).
        if (sawEnd) {
            r.closeKind = CLEAN;
        } else {
            r.closeKind = "eof";
            r.detail = "response ended without the end event";
        }
    }

    /** A line without its CR LF; null at the end of the stream. EOF inside a line is an EOFException. */
    static String readLine(InputStream in) throws IOException {
        ByteArrayOutputStream b = new ByteArrayOutputStream(128);
        while (true) {
            int c = in.read();
            if (c < 0) {
                if (b.size() == 0) {
                    return null;
                }
                throw new EOFException("closed in the middle of a line");
            }
            if (c == '\n') {
                String s = b.toString(StandardCharsets.UTF_8);
                return s.endsWith("\r") ? s.substring(0, s.length() - 1) : s;
            }
            if (b.size() >= MAX_LINE) {
                throw new IOException("line over " + MAX_LINE + " bytes");
            }
            b.write(c);
        }
    }

    /** A chunked body: returns -1 after the zero-length chunk, EOFException when the connection ends before it. */
    static final class Chunked extends InputStream {
        private final InputStream in;
        private long left;
        private boolean done;

        Chunked(InputStream in) {
            this.in = in;
        }

        @Override
        public int read() throws IOException {
            if (done) {
                return -1;
            }
            if (left == 0) {
                String size = readLine(in);
                if (size == null) {
                    throw new EOFException("connection closed before the last chunk");
                }
                if (size.isEmpty()) { // the CRLF after the previous chunk's data
                    size = readLine(in);
                    if (size == null) {
                        throw new EOFException("connection closed before the last chunk");
                    }
                }
                int semi = size.indexOf(';');
                try {
                    left = Long.parseLong((semi >= 0 ? size.substring(0, semi) : size).trim(), 16);
                } catch (NumberFormatException e) {
                    throw new IOException("bad chunk size '" + trim(size) + "'");
                }
                if (left == 0) {
                    done = true;
                    return -1;
                }
            }
            int c = in.read();
            if (c < 0) {
                throw new EOFException("connection closed inside a chunk");
            }
            left--;
            return c;
        }
    }

    static final class Limited extends InputStream {
        private final InputStream in;
        private long left;

        Limited(InputStream in, long length) {
            this.in = in;
            this.left = length;
        }

        @Override
        public int read() throws IOException {
            if (left == 0) {
                return -1;
            }
            int c = in.read();
            if (c < 0) {
                throw new EOFException("connection closed before Content-Length");
            }
            left--;
            return c;
        }
    }

    // --- WebSocket through java.net.http --------------------------------------------------------------

    void wsConnection(StreamState st, Record r) {
        URI uri;
        try {
            uri = new URI(wsUrl.getScheme(), wsUrl.getRawAuthority(), wsUrl.getRawPath(), null, null);
            uri = URI.create(uri + "?" + query(wsUrl, r.from));
        } catch (java.net.URISyntaxException e) {
            r.closeKind = "error";
            r.detail = e.getMessage();
            return;
        }
        CompletableFuture<Void> closed = new CompletableFuture<>();
        AtomicLong lastData = new AtomicLong(System.nanoTime());
        WebSocket.Listener listener = new WebSocket.Listener() {
            private final StringBuilder text = new StringBuilder();

            @Override
            public void onOpen(WebSocket ws) {
                ws.request(1);
            }

            @Override
            public CompletionStage<?> onText(WebSocket ws, CharSequence data, boolean last) {
                lastData.set(System.nanoTime());
                text.append(data);
                if (text.length() > MAX_LINE) {
                    ws.abort();
                    synchronized (r) {
                        r.closeKind = "error";
                        r.detail = "message over " + MAX_LINE + " bytes";
                    }
                    closed.complete(null);
                    return null;
                }
                if (last) {
                    String m = text.toString();
                    text.setLength(0);
                    synchronized (r) {
                        if (m.contains("\"hello\":true")) {
                            st.onHello(r, m);
                        } else {
                            Matcher sm = SEQ.matcher(m);
                            if (sm.find()) {
                                st.onSeq(r, Long.parseLong(sm.group(1)));
                            }
                        }
                    }
                }
                ws.request(1);
                return null;
            }

            @Override
            public CompletionStage<?> onClose(WebSocket ws, int code, String reason) {
                synchronized (r) {
                    if (r.closeKind == null) {
                        r.closeCode = code;
                        r.closeKind = code == 1001 ? CLEAN : "ws_" + code;
                        r.detail = reason;
                    }
                }
                closed.complete(null);
                return null; // the JDK answers with a close of the same code
            }

            @Override
            public void onError(WebSocket ws, Throwable error) {
                synchronized (r) {
                    if (r.closeKind == null) {
                        // The connection ended without a close frame: what a browser reports as 1006.
                        r.closeKind = stop ? CLIENT_STOP : "ws_1006";
                        r.closeCode = 1006;
                        r.detail = trim(String.valueOf(error));
                    }
                }
                closed.complete(null);
            }
        };
        WebSocket.Builder b = http.newWebSocketBuilder().connectTimeout(Duration.ofMillis(connectTimeoutMs));
        if (hostHeader != null) {
            b.header("Host", hostHeader);
        }
        WebSocket ws;
        try {
            ws = b.buildAsync(uri, listener).get(connectTimeoutMs + 1000, TimeUnit.MILLISECONDS);
        } catch (ExecutionException e) {
            Throwable c = e.getCause();
            if (c instanceof WebSocketHandshakeException) {
                int code = ((WebSocketHandshakeException) c).getResponse().statusCode();
                r.closeKind = "http_" + code;
                r.closeCode = code;
            } else if (c instanceof ConnectException) {
                r.closeKind = "refused";
            } else if (c instanceof HttpTimeoutException) {
                r.closeKind = "timeout";
            } else {
                r.closeKind = "reset";
            }
            r.detail = trim(String.valueOf(c));
            return;
        } catch (TimeoutException e) {
            r.closeKind = "timeout";
            return;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            r.closeKind = CLIENT_STOP;
            return;
        }
        r.connectedEpochMs = System.currentTimeMillis();
        openNow.incrementAndGet();
        try {
            String why = awaitEnd(r, closed, lastData);
            if (CLIENT_STOP.equals(why)) {
                // The end of the run: a normal close from this side, then the connection goes.
                ws.sendClose(WebSocket.NORMAL_CLOSURE, "done");
                try {
                    closed.get(1, TimeUnit.SECONDS);
                } catch (Exception e) {
                    ws.abort();
                }
            } else if (why != null) {
                ws.abort();
            }
        } finally {
            openNow.decrementAndGet();
        }
    }

    /**
     * Waits while an opened stream runs, until the server ends it ({@code closed}: returns null), the run
     * ends (CLIENT_STOP), no message came for --idle-timeout ("stalled") or the thread is interrupted
     * ("interrupted"); in those three the record's close kind is set (unless the server's end came first)
     * and the caller closes the connection.
     */
    String awaitEnd(Record r, CompletableFuture<Void> closed, AtomicLong lastDataNanos) {
        while (!closed.isDone()) {
            String why = null;
            String detail = "";
            if (stop) {
                why = CLIENT_STOP;
            } else if (System.nanoTime() - lastDataNanos.get() > TimeUnit.MILLISECONDS.toNanos(idleTimeoutMs)) {
                why = "stalled";
                detail = "no message for " + idleTimeoutMs + " ms";
            } else {
                try {
                    closed.get(50, TimeUnit.MILLISECONDS);
                } catch (TimeoutException e) {
                    // check the stop flag and the idle timeout again
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    why = "interrupted";
                } catch (ExecutionException e) {
                    return null;
                }
            }
            if (why != null) {
                synchronized (r) {
                    if (r.closeKind == null && !why.equals("interrupted")) {
                        r.closeKind = why;
                        r.detail = detail;
                    }
                }
                return why;
            }
        }
        return null;
    }

    // --- the run ---------------------------------------------------------------------------------

    /** Closes a socket from another thread: how the end of the run interrupts a blocking read. */
    static final class Closer {
        final Socket s;

        Closer(Socket s) {
            this.s = s;
        }
    }

    final java.util.Set<Closer> closers = java.util.concurrent.ConcurrentHashMap.newKeySet();

    void sleepUntilStop(long ms) {
        long end = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(ms);
        while (!stop && System.nanoTime() < end) {
            try {
                Thread.sleep(Math.min(20, Math.max(1, (end - System.nanoTime()) / 1_000_000)));
            } catch (InterruptedException e) {
                return;
            }
        }
    }

    void run() throws Exception {
        if (hostHeader != null) {
            // java.net.http refuses to set Host unless told otherwise (the property is read once, here first).
            System.setProperty("jdk.httpclient.allowRestrictedHeaders", "host");
        }
        http = HttpClient.newBuilder().connectTimeout(Duration.ofMillis(connectTimeoutMs)).build();
        long startEpochMs = System.currentTimeMillis();
        long t0 = System.nanoTime();
        List<Thread> threads = new ArrayList<>();
        List<StreamState> states = new ArrayList<>();
        for (int i = 0; i < wsCount; i++) {
            states.add(new StreamState("ws", i));
        }
        for (int i = 0; i < sseCount; i++) {
            states.add(new StreamState("sse", i));
        }
        for (int i = 0; i < grpcCount; i++) {
            states.add(new StreamState("grpc", i));
        }
        for (StreamState st : states) {
            Thread t = new Thread(st::loop, st.kind + "-" + st.index);
            t.setDaemon(true);
            threads.add(t);
            t.start();
        }
        Thread main = Thread.currentThread();
        Thread hook = new Thread(() -> {
            stopReason = "signal";
            stop = true;
            try {
                main.join(5000);
            } catch (InterruptedException e) {
                // exit anyway
            }
        });
        Runtime.getRuntime().addShutdownHook(hook);
        long nextReport = t0 + TimeUnit.SECONDS.toNanos(5);
        while (!stop) {
            long now = System.nanoTime();
            if (now - t0 >= TimeUnit.MILLISECONDS.toNanos(durationMs)) {
                stopReason = untilFile != null ? "max-duration" : "duration";
                break;
            }
            if (untilFile != null && Files.exists(untilFile)) {
                stopReason = "until-file";
                break;
            }
            if (now >= nextReport) {
                System.err.printf(Locale.ROOT, "[loadgen streams] t=%.1fs open=%d connections=%d messages=%d%n",
                        (now - t0) / 1e9, openNow.get(), records.size(), messages.get());
                nextReport += TimeUnit.SECONDS.toNanos(5);
            }
            Thread.sleep(20);
        }
        long sendingNanos = System.nanoTime() - t0;
        stop = true;
        for (Closer c : closers) {
            try {
                c.s.close();
            } catch (IOException e) {
                // closed already
            }
        }
        for (Thread t : threads) {
            t.join(3000);
        }
        write(startEpochMs, sendingNanos);
        try {
            Runtime.getRuntime().removeShutdownHook(hook);
        } catch (IllegalStateException e) {
            // already shutting down (signal): the hook waits for us
        }
    }

    void write(long startEpochMs, long sendingNanos) throws IOException {
        List<Record> all;
        synchronized (records) {
            all = new ArrayList<>(records);
        }
        all.sort((x, y) -> x.kind.equals(y.kind) ? x.stream != y.stream ? Integer.compare(x.stream, y.stream)
                : Integer.compare(x.conn, y.conn) : x.kind.compareTo(y.kind));
        if (out != null) {
            try (BufferedWriter w = Files.newBufferedWriter(out)) {
                for (Record r : all) {
                    w.write(r.json());
                    w.write('\n');
                }
            }
        }
        StringBuilder s = new StringBuilder("{\n");
        s.append("  \"startEpochMs\": ").append(startEpochMs).append(",\n");
        s.append(String.format(Locale.ROOT, "  \"durationSeconds\": %.3f,%n", sendingNanos / 1e9));
        s.append("  \"stopReason\": \"").append(stopReason).append("\",\n");
        s.append("  \"resume\": ").append(resume).append(",\n");
        long[] tot = new long[6];
        for (String kind : new String[] {"ws", "sse", "grpc"}) {
            int streams = kind.equals("ws") ? wsCount : kind.equals("sse") ? sseCount : grpcCount;
            s.append("  \"").append(kind).append("\": ").append(kindSummary(all, kind, streams, tot)).append(",\n");
        }
        s.append("  \"totals\": {\"connections\": ").append(tot[0]).append(", \"failedConnects\": ").append(tot[1])
                .append(", \"abnormal\": ").append(tot[2]).append(", \"messages\": ").append(tot[3])
                .append(", \"lost\": ").append(tot[4]).append(", \"duplicated\": ").append(tot[5]).append("}\n}\n");
        if (summary != null) {
            Files.writeString(summary, s.toString());
        } else {
            System.out.print(s);
        }
    }

    static String kindSummary(List<Record> all, String kind, int streams, long[] tot) {
        long connections = 0, failedConnects = 0, abnormal = 0, msgs = 0, lost = 0, dup = 0;
        Map<String, Long> kinds = new TreeMap<>();
        Map<String, Long> pods = new TreeMap<>();
        List<Double> reconnect = new ArrayList<>();
        for (Record r : all) {
            if (!r.kind.equals(kind)) {
                continue;
            }
            kinds.merge(r.closeKind, 1L, Long::sum);
            if (r.opened()) {
                connections++;
                if (!r.pod.isEmpty()) {
                    pods.merge(r.pod, 1L, Long::sum);
                }
            } else if (!CLIENT_STOP.equals(r.closeKind)) {
                failedConnects++;
            }
            if (r.abnormal()) {
                abnormal++;
            }
            msgs += r.messages;
            lost += r.lost;
            dup += r.duplicated;
            if (r.reconnectMs >= 0) {
                reconnect.add(r.reconnectMs);
            }
        }
        Collections.sort(reconnect);
        tot[0] += connections;
        tot[1] += failedConnects;
        tot[2] += abnormal;
        tot[3] += msgs;
        tot[4] += lost;
        tot[5] += dup;
        return "{\"streams\": " + streams + ", \"connections\": " + connections + ", \"failedConnects\": " + failedConnects
                + ", \"abnormal\": " + abnormal + ", \"messages\": " + msgs + ", \"lost\": " + lost + ", \"duplicated\": "
                + dup + ", \"closeKinds\": " + map(kinds) + ", \"reconnectMs\": {\"count\": " + reconnect.size()
                + ", \"p50\": " + pct(reconnect, 50) + ", \"p99\": " + pct(reconnect, 99) + ", \"max\": "
                + pct(reconnect, 100) + "}, \"pods\": " + map(pods) + "}";
    }

    static String map(Map<String, Long> m) {
        StringBuilder b = new StringBuilder("{");
        for (Map.Entry<String, Long> e : m.entrySet()) {
            if (b.length() > 1) {
                b.append(", ");
            }
            b.append('"').append(esc(e.getKey())).append("\": ").append(e.getValue());
        }
        return b.append('}').toString();
    }

    static String pct(List<Double> sorted, int p) {
        if (sorted.isEmpty()) {
            return "null";
        }
        int i = (int) Math.ceil(p / 100.0 * sorted.size()) - 1; // nearest rank
        return String.format(Locale.ROOT, "%.1f", sorted.get(Math.max(0, Math.min(sorted.size() - 1, i))));
    }

    static String trim(String s) {
        return s.length() > 200 ? s.substring(0, 200) : s;
    }

    static String esc(String s) {
        StringBuilder b = new StringBuilder(s.length());
        for (char c : s.toCharArray()) {
            if (c == '"' || c == '\\') {
                b.append('\\').append(c);
            } else if (c < 0x20) {
                b.append(String.format("\\u%04x", (int) c));
            } else {
                b.append(c);
            }
        }
        return b.toString();
    }
}
