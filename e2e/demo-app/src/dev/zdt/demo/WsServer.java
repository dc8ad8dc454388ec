package dev.zdt.demo;

import java.io.BufferedInputStream;
import java.io.ByteArrayOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Base64;
import java.util.HashMap;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.function.BiConsumer;

/**
 * The server side of WebSocket (RFC 6455) on a port of its own, JDK only: {@code GET /ws} upgrades,
 * then the stream sends one text message per interval and answers pings; on the drain signal it
 * sends close 1001 ("going away"), waits for the client's close (at most {@code closeWaitMs}) and
 * closes the connection. Why not a library: see the README (the JDK's HTTP server cannot hand a
 * connection over after a 101, so any WebSocket server needs a port of its own or a new HTTP stack).
 *
 * <p>Bounds, since this port faces whatever reaches the pod: a request head of at most 8 KiB read
 * within 5 s, at most MAX_STREAMS open streams plus 256 handshakes at once (then 503 and close), frames
 * from the client masked, control frames of at most 125 bytes, data frames of at most 64 KiB (1009
 * otherwise). The client's data messages are read and dropped: this stream only sends.
 */
final class WsServer {

    static final String GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
    static final int MAX_HEAD_BYTES = 8192;
    static final int HEAD_TIMEOUT_MS = 5_000;
    static final int MAX_FRAME_BYTES = 64 * 1024;
    static final int MAX_HANDSHAKES = 256;

    private final StreamHub hub;
    private final BiConsumer<String, String> log;
    private final long closeWaitMs;
    private final ServerSocket listener;
    private final Semaphore handshakes = new Semaphore(MAX_HANDSHAKES);
    private volatile boolean stopped;

    WsServer(StreamHub hub, String bindAddress, int port, int backlog, long closeWaitMs,
            BiConsumer<String, String> log) throws IOException {
        this.hub = hub;
        this.log = log;
        this.closeWaitMs = closeWaitMs;
        this.listener = new ServerSocket();
        listener.setReuseAddress(true);
        listener.bind(new InetSocketAddress(bindAddress, port), backlog);
    }

    int port() {
        return listener.getLocalPort();
    }

    void start() {
        Thread t = new Thread(this::acceptLoop, "ws-accept");
        t.setDaemon(true);
        t.start();
    }

    /** Closes the listener: new connections are refused (SIGTERM); open streams are the hub's. */
    void stopAccepting() {
        stopped = true;
        try {
            listener.close();
        } catch (IOException e) {
            // already closed
        }
    }

    private void acceptLoop() {
        while (!stopped) {
            Socket s;
            try {
                s = listener.accept();
            } catch (IOException e) {
                if (stopped) {
                    return;
                }
                log.accept("ws-accept-error", "error=" + e.getClass().getSimpleName());
                StreamHub.sleepQuietly(50); // e.g. out of file descriptors: do not spin
                continue;
            }
            if (!handshakes.tryAcquire()) {
                // A flood of connections that send nothing must not take a thread each.
                hub.refused.incrementAndGet();
                closeQuietly(s);
                continue;
            }
            Thread t = new Thread(() -> serve(s), "ws-conn");
            t.setDaemon(true);
            t.start();
        }
    }

    private void serve(Socket s) {
        WsStream stream = null;
        try {
            s.setTcpNoDelay(true);
            s.setSoTimeout(HEAD_TIMEOUT_MS);
            InputStream in = new BufferedInputStream(s.getInputStream());
            OutputStream out = s.getOutputStream();
            Map<String, String> head;
            String target;
            try {
                String[] requestLine = new String[1];
                head = readHead(in, requestLine);
                target = requestLine[0];
            } catch (BadRequest e) {
                reply(out, e.status, e.getMessage(), "");
                return;
            }
            stream = handshake(s, in, out, target, head);
        } catch (IOException e) {
            // the client left during the handshake
        } finally {
            handshakes.release();
            if (stream == null) {
                closeQuietly(s);
            }
        }
        if (stream != null) {
            stream.readLoop();
        }
    }

    /** Answers the upgrade; returns the running stream, or null when it was refused (answered). */
    private WsStream handshake(Socket s, InputStream in, OutputStream out, String target, Map<String, String> head)
            throws IOException {
        String[] parts = target.split(" ");
        if (parts.length != 3 || !parts[2].startsWith("HTTP/1.")) {
            reply(out, 400, "bad request line\n", "");
            return null;
        }
        URI uri;
        try {
            uri = new URI(parts[1]);
        } catch (java.net.URISyntaxException e) {
            reply(out, 400, "bad request target\n", "");
            return null;
        }
        if (!"/ws".equals(uri.getPath())) {
            reply(out, 404, "not found (the WebSocket stream is GET /ws)\n", "");
            return null;
        }
        if (!"GET".equals(parts[0])) {
            reply(out, 405, "only GET\n", "Allow: GET\r\n");
            return null;
        }
        String upgrade = head.getOrDefault("upgrade", "");
        String connection = head.getOrDefault("connection", "").toLowerCase(Locale.ROOT);
        if (!"websocket".equalsIgnoreCase(upgrade.trim()) || !hasToken(connection, "upgrade")) {
            reply(out, 426, "this endpoint is a WebSocket: send Upgrade: websocket\n",
                    "Upgrade: websocket\r\nSec-WebSocket-Version: 13\r\n");
            return null;
        }
        if (!"13".equals(head.getOrDefault("sec-websocket-version", "").trim())) {
            reply(out, 426, "Sec-WebSocket-Version must be 13\n", "Sec-WebSocket-Version: 13\r\n");
            return null;
        }
        String key = head.getOrDefault("sec-websocket-key", "").trim();
        if (!validKey(key)) {
            reply(out, 400, "Sec-WebSocket-Key must be 16 bytes in base64\n", "");
            return null;
        }
        long[] p;
        try {
            p = hub.params(uri.getRawQuery(), null);
        } catch (IllegalArgumentException e) {
            reply(out, 400, e.getMessage() + "\n", "");
            return null;
        }
        WsStream stream = new WsStream(s, in, out, p[0], p[1]);
        String refusal = hub.admit(stream);
        if (refusal != null) {
            reply(out, 503, refusal, "Retry-After: 0\r\n");
            return null;
        }
        String head101 = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                + "Sec-WebSocket-Accept: " + accept(key) + "\r\nX-Pod: " + hub.pod + "\r\nX-Version: " + hub.version
                + "\r\n\r\n";
        try {
            out.write(head101.getBytes(StandardCharsets.ISO_8859_1));
            out.flush();
            s.setSoTimeout(0); // from now on the client may stay silent for as long as the stream runs
        } catch (IOException e) {
            hub.closed(stream, "client", 0, p[0] - 1, stream.openNanos);
            throw e;
        }
        hub.logOpen(stream, p[0], p[1], String.valueOf(s.getRemoteSocketAddress()));
        Thread writer = new Thread(stream, "ws-" + stream.id);
        writer.setDaemon(true);
        writer.start();
        return stream;
    }

    static boolean hasToken(String headerValue, String token) {
        for (String t : headerValue.split(",")) {
            if (t.trim().equals(token)) {
                return true;
            }
        }
        return false;
    }

    static boolean validKey(String key) {
        try {
            return Base64.getDecoder().decode(key).length == 16;
        } catch (IllegalArgumentException e) {
            return false;
        }
    }

    static String accept(String key) {
        try {
            byte[] sha1 = MessageDigest.getInstance("SHA-1").digest((key + GUID).getBytes(StandardCharsets.ISO_8859_1));
            return Base64.getEncoder().encodeToString(sha1);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    private void reply(OutputStream out, int status, String body, String extraHeaders) throws IOException {
        byte[] b = body.getBytes(StandardCharsets.UTF_8);
        String reason = switch (status) {
            case 400 -> "Bad Request";
            case 404 -> "Not Found";
            case 405 -> "Method Not Allowed";
            case 426 -> "Upgrade Required";
            case 431 -> "Request Header Fields Too Large";
            case 503 -> "Service Unavailable";
            default -> "Error";
        };
        String h = "HTTP/1.1 " + status + " " + reason + "\r\nContent-Type: text/plain\r\nContent-Length: " + b.length
                + "\r\nConnection: close\r\nX-Pod: " + hub.pod + "\r\n" + extraHeaders + "\r\n";
        out.write(h.getBytes(StandardCharsets.ISO_8859_1));
        out.write(b);
        out.flush();
    }

    static final class BadRequest extends IOException {
        private static final long serialVersionUID = 1L;
        final int status;

        BadRequest(int status, String message) {
            super(message);
            this.status = status;
        }
    }

    /** Reads the request head (at most MAX_HEAD_BYTES); header names lower-cased, repeated ones joined. */
    static Map<String, String> readHead(InputStream in, String[] requestLine) throws IOException {
        ByteArrayOutputStream line = new ByteArrayOutputStream();
        Map<String, String> headers = new HashMap<>();
        int total = 0;
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(HEAD_TIMEOUT_MS);
        while (true) {
            if (System.nanoTime() > deadline) {
                // A byte now and then must not keep a handshake open for hours.
                throw new EOFException("request head not complete within " + HEAD_TIMEOUT_MS + " ms");
            }
            int c = in.read();
            if (c < 0) {
                throw new EOFException("closed before the end of the request head");
            }
            if (++total > MAX_HEAD_BYTES) {
                throw new BadRequest(431, "request head over " + MAX_HEAD_BYTES + " bytes\n");
            }
            if (c != '\n') {
                line.write(c);
                continue;
            }
            String l = line.toString(StandardCharsets.ISO_8859_1);
            line.reset();
            if (l.endsWith("\r")) {
                l = l.substring(0, l.length() - 1);
            }
            if (requestLine[0] == null) {
                requestLine[0] = l;
                continue;
            }
            if (l.isEmpty()) {
                return headers;
            }
            int colon = l.indexOf(':');
            if (colon <= 0) {
                throw new BadRequest(400, "bad header line\n");
            }
            String name = l.substring(0, colon).trim().toLowerCase(Locale.ROOT);
            String value = l.substring(colon + 1).trim();
            headers.merge(name, value, (a, b) -> a + ", " + b);
        }
    }

    static void closeQuietly(Socket s) {
        try {
            s.close();
        } catch (IOException e) {
            // nothing to do
        }
    }

    /** One upgraded connection: the writer is TickingStream's thread, the reader the connection's. */
    final class WsStream extends TickingStream {
        private final Socket socket;
        private final InputStream in;
        private final OutputStream out;
        private final Object writeLock = new Object();
        private volatile boolean closeSent;
        private volatile boolean closeReceived;
        private final Object closeLock = new Object();

        WsStream(Socket socket, InputStream in, OutputStream out, long from, long intervalMs) {
            super(WsServer.this.hub, from, intervalMs);
            this.socket = socket;
            this.in = in;
            this.out = out;
        }

        @Override
        public String kind() {
            return "ws";
        }

        @Override
        void sendHello() throws IOException {
            sendText(hub.hello(kind(), id, from));
        }

        @Override
        void sendMessage(long seq) throws IOException {
            sendText(hub.message(kind(), id, seq));
        }

        private void sendText(String s) throws IOException {
            frame(0x1, s.getBytes(StandardCharsets.UTF_8));
        }

        private void frame(int opcode, byte[] payload) throws IOException {
            synchronized (writeLock) {
                if (closeSent) {
                    throw new SocketException("close already sent");
                }
                if (opcode == 0x8) {
                    closeSent = true;
                }
                int n = payload.length;
                byte[] h;
                if (n < 126) {
                    h = new byte[] {(byte) (0x80 | opcode), (byte) n};
                } else if (n < 65536) {
                    h = new byte[] {(byte) (0x80 | opcode), 126, (byte) (n >>> 8), (byte) n};
                } else {
                    h = new byte[10];
                    h[0] = (byte) (0x80 | opcode);
                    h[1] = 127;
                    for (int i = 0; i < 8; i++) {
                        h[2 + i] = (byte) ((long) n >>> (56 - 8 * i));
                    }
                }
                out.write(h);
                out.write(payload);
                out.flush();
            }
        }

        private void sendClose(int code, String reason) throws IOException {
            byte[] r = reason.getBytes(StandardCharsets.UTF_8);
            byte[] p = new byte[2 + r.length];
            p[0] = (byte) (code >>> 8);
            p[1] = (byte) code;
            System.arraycopy(r, 0, p, 2, r.length);
            frame(0x8, p);
        }

        @Override
        String goodbye(String reason) throws IOException {
            sendClose(1001, reason);
            // The client answers with its own close; then the connection can go. A client that does
            // not answer does not hold the pod past closeWaitMs.
            long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(closeWaitMs);
            synchronized (closeLock) {
                long wait;
                while (!closeReceived && (wait = deadline - System.nanoTime()) > 0) {
                    try {
                        TimeUnit.NANOSECONDS.timedWait(closeLock, wait);
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                        break;
                    }
                }
            }
            return "drain";
        }

        @Override
        void release() {
            try {
                socket.shutdownOutput(); // FIN after the close frame, as RFC 6455 asks of the server
            } catch (IOException e) {
                // already gone
            }
            closeQuietly(socket);
        }

        @Override
        public void abort() {
            closeQuietly(socket);
        }

        /** Reads the client's frames until it closes, breaks the protocol, or the connection ends. */
        void readLoop() {
            try {
                while (true) {
                    int b0 = in.read();
                    int b1 = b0 < 0 ? -1 : in.read();
                    if (b1 < 0) {
                        stopLoop("client"); // EOF without a close frame (after our 1001, goodbye() wins)
                        return;
                    }
                    int opcode = b0 & 0x0f;
                    boolean fin = (b0 & 0x80) != 0;
                    if ((b0 & 0x70) != 0) {
                        protocolError(1002, "reserved bits set");
                        return;
                    }
                    if ((b1 & 0x80) == 0) {
                        protocolError(1002, "client frames must be masked");
                        return;
                    }
                    long len = b1 & 0x7f;
                    if (len == 126) {
                        len = (readByte() << 8) | readByte();
                    } else if (len == 127) {
                        len = 0;
                        for (int i = 0; i < 8; i++) {
                            len = (len << 8) | readByte();
                        }
                        if (len < 0) {
                            protocolError(1002, "bad length");
                            return;
                        }
                    }
                    boolean control = opcode >= 0x8;
                    if (control && (!fin || len > 125)) {
                        protocolError(1002, "bad control frame");
                        return;
                    }
                    if (len > MAX_FRAME_BYTES) {
                        protocolError(1009, "frame over " + MAX_FRAME_BYTES + " bytes");
                        return;
                    }
                    byte[] mask = in.readNBytes(4);
                    byte[] payload = in.readNBytes((int) len);
                    if (mask.length < 4 || payload.length < len) {
                        stopLoop("client");
                        return;
                    }
                    for (int i = 0; i < payload.length; i++) {
                        payload[i] ^= mask[i & 3];
                    }
                    switch (opcode) {
                        case 0x0, 0x1, 0x2 -> {
                            // data from the client: read and dropped
                        }
                        case 0x8 -> {
                            onClientClose(payload);
                            return;
                        }
                        case 0x9 -> {
                            try {
                                frame(0xA, payload);
                            } catch (IOException e) {
                                // the writer will notice too
                            }
                        }
                        case 0xA -> {
                            // pong: nothing to do
                        }
                        default -> {
                            protocolError(1002, "unknown opcode " + opcode);
                            return;
                        }
                    }
                }
            } catch (IOException e) {
                stopLoop("client");
            } finally {
                peerDone();
            }
        }

        /** The reader is done (close received, EOF or error): goodbye() need not wait any longer. */
        private void peerDone() {
            synchronized (closeLock) {
                closeReceived = true;
                closeLock.notifyAll();
            }
        }

        private int readByte() throws IOException {
            int b = in.read();
            if (b < 0) {
                throw new EOFException();
            }
            return b;
        }

        private void onClientClose(byte[] payload) {
            if (!closeSent) {
                // The client leaves: echo its code, as RFC 6455 asks, and end the stream.
                int code = payload.length >= 2 ? ((payload[0] & 0xff) << 8) | (payload[1] & 0xff) : 1000;
                try {
                    sendClose(code == 1005 || code == 1006 || code == 1015 ? 1000 : code, "");
                } catch (IOException e) {
                    // gone already
                }
                stopLoop("client");
            }
            // else: the answer to our 1001; goodbye() is waiting for it and ends the stream as "drain"
        }

        private void protocolError(int code, String reason) {
            try {
                sendClose(code, reason);
            } catch (IOException e) {
                // gone already
            }
            stopLoop("error");
            closeQuietly(socket);
        }
    }
}
