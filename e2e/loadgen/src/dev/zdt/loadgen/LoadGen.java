package dev.zdt.loadgen;

import java.io.BufferedWriter;
import java.io.IOException;
import java.net.ConnectException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketTimeoutException;
import java.net.StandardSocketOptions;
import java.net.URI;
import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Iterator;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.locks.LockSupport;
import java.util.regex.Matcher;

/**
 * Open-model HTTP/1.1 load generator: request i is started at start + i/rate whatever happened
 * to earlier ones, so a slow or failing backend shows up as errors instead of as a lower rate.
 *
 * <p>Why raw sockets on one NIO selector and not java.net.http: a new connection per request is
 * the case that matters here (it is what exposes a pod still listed by the ingress), and
 * HttpClient pools connections, hides when a connection was opened, and wraps refusals and
 * resets in generic IOExceptions. With our own channel per request we know whether it failed at
 * connect (refused), while writing, or while reading (reset/EOF), one thread holds thousands
 * of requests in flight, and the schedule never waits for a response.
 */
public final class LoadGen {

    // Error kinds, in the order they are reported.
    static final String[] KINDS = {"none", "http_502", "http_503", "http_504", "http_other",
            "reset", "refused", "timeout", "overload", "other", "bad_body"};
    static final byte NONE = 0, HTTP_502 = 1, HTTP_503 = 2, HTTP_504 = 3, HTTP_OTHER = 4,
            RESET = 5, REFUSED = 6, TIMEOUT = 7, OVERLOAD = 8, OTHER = 9, BAD_BODY = 10;

    // New columns go at the end: the analysis scripts read the CSV by name, older tools by position.
    static final String CSV_HEADER =
            "seq,sendEpochMs,latencyMs,status,errorKind,pod,version,scheduledEpochMs,latencyFromScheduleMs";

    // Responses above this size are an error: we only expect small answers from the demo app.
    static final int MAX_RESPONSE_BYTES = 1 << 20;
    // How long a finished non-keep-alive connection waits for the server's FIN before we close it.
    static final long LINGER_NANOS = 1_000_000_000L;

    final Config cfg;
    final Records rec = new Records();
    final Map<String, String> podNames = new HashMap<>(); // pod and version names, shared per value
    final ArrayDeque<Req> pending = new ArrayDeque<>();   // launch order == deadline order
    final ArrayDeque<Conn> idle = new ArrayDeque<>();     // keep-alive connections ready for reuse
    final ArrayDeque<Conn> lingering = new ArrayDeque<>(); // answered, waiting for the server to close
    final byte[] requestBytes;
    Selector selector;
    InetSocketAddress target;
    int inFlight;
    long startEpochMs;  // the wall clock when the schedule started: request i is due intervalNanos * i later
    long intervalNanos;
    long ok, failed, overload, sent;
    long maxLagNanos, lateOver10ms;
    // -Dloadgen.debug=N prints the first N failures with their detail to stderr (for diagnosis).
    int debugLeft = Integer.getInteger("loadgen.debug", 0);
    volatile boolean stopRequested;
    volatile boolean finished;

    LoadGen(Config cfg) {
        this.cfg = cfg;
        this.requestBytes = ("GET " + cfg.pathAndQuery + " HTTP/1.1\r\n"
                + "Host: " + cfg.hostHeader + "\r\n"
                + "User-Agent: zdt-loadgen\r\n"
                + "Accept: */*\r\n"
                + (cfg.keepalive ? "" : "Connection: close\r\n")
                + "\r\n").getBytes(StandardCharsets.ISO_8859_1);
    }

    public static void main(String[] args) throws Exception {
        if (args.length > 0 && args[0].equals("streams")) {
            // Long-lived streams (WebSocket, SSE) instead of requests: see StreamGen.
            StreamGen.main(Arrays.copyOfRange(args, 1, args.length));
            return;
        }
        Config cfg;
        try {
            cfg = Config.parse(args);
        } catch (IllegalArgumentException e) {
            System.err.println("loadgen: " + e.getMessage());
            System.err.println(Config.USAGE);
            System.exit(2);
            return;
        }
        if (cfg == null) {
            System.out.println(Config.USAGE);
            return;
        }
        LoadGen lg = new LoadGen(cfg);
        Thread mainThread = Thread.currentThread();
        // Ctrl-C / SIGTERM: stop sending, let in-flight requests finish (bounded), still write the files.
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            if (lg.finished) {
                return;
            }
            lg.stopRequested = true;
            Selector s = lg.selector;
            if (s != null) {
                s.wakeup();
            }
            try {
                mainThread.join(cfg.timeoutMs + 5_000);
            } catch (InterruptedException ignored) {
                Thread.currentThread().interrupt();
            }
        }, "stop"));
        lg.run();
    }

    void run() throws IOException {
        InetAddress addr = InetAddress.getByName(cfg.connectHost);
        target = new InetSocketAddress(addr, cfg.port);
        selector = Selector.open();
        long interval = Math.max(1, Math.round(1e9 / cfg.rate));
        long durationNanos = cfg.durationMs * 1_000_000L;
        long timeoutNanos = cfg.timeoutMs * 1_000_000L;

        // The banner first: its first printf loads classes for ~20 ms, which would make the first
        // requests late against a schedule already started.
        System.err.printf(Locale.ROOT, "[loadgen] %s Host=%s rate=%.1f/s keepalive=%s timeout=%dms max-in-flight=%d expect-body=%s%n",
                cfg.url, cfg.hostHeader, cfg.rate, cfg.keepalive, cfg.timeoutMs, cfg.maxInFlight,
                cfg.expectBodyRegex == null ? "none" : cfg.expectBodyRegex);

        long startEpochMs = System.currentTimeMillis();
        long start = System.nanoTime();
        this.startEpochMs = startEpochMs;
        this.intervalNanos = interval;
        long stopAt = -1;            // nanoTime when scheduling stopped
        String stopReason = null;
        long seq = 0;
        long nextProgress = start + 5_000_000_000L;
        long nextFileCheck = start;

        while (true) {
            long now = System.nanoTime();
            if (stopAt < 0) {
                // Every request whose time has come is started now, even if the loop fell behind,
                // and before the stop checks: a loop that wakes up late after the end of --duration
                // still sends (late) the requests due inside it instead of leaving them unrecorded.
                long due;
                while ((due = start + seq * interval) <= now && due - start < durationNanos) {
                    launch(seq++, now, due, timeoutNanos);
                }
                if (stopRequested) {
                    stopReason = "signal";
                } else if (now - start >= durationNanos) {
                    stopReason = cfg.untilFile != null ? "max-duration" : "duration";
                } else if (cfg.untilFile != null && now >= nextFileCheck) {
                    nextFileCheck = now + 100_000_000L;
                    if (Files.exists(cfg.untilFile)) {
                        stopReason = "until-file";
                    }
                }
                if (stopReason != null) {
                    stopAt = now;
                }
            }
            expire(now);
            if (stopAt >= 0 && inFlight == 0) {
                break;
            }
            if (now >= nextProgress) {
                progress(now - start);
                nextProgress += 5_000_000_000L;
            }

            long wait = nextProgress - now;
            if (stopAt < 0) {
                wait = Math.min(wait, start + seq * interval - now);
                if (cfg.untilFile != null) {
                    wait = Math.min(wait, nextFileCheck - now);
                }
            }
            Req first = pending.peekFirst();
            if (first != null) {
                wait = Math.min(wait, first.deadline - now);
            }
            Conn l = lingering.peekFirst();
            if (l != null) {
                wait = Math.min(wait, l.lingerUntil - now);
            }
            long waitMs = wait / 1_000_000L;
            if (wait <= 0) {
                selector.selectNow();
            } else if (waitMs == 0) {
                // select() counts in whole ms: park for the sub-ms rest (no busy spin stealing the server's CPU).
                LockSupport.parkNanos(wait);
                selector.selectNow();
            } else {
                selector.select(Math.min(waitMs, 100));
            }
            handleReady();
        }
        long end = System.nanoTime();
        progress(end - start);
        for (Conn c : idle) {
            c.close();
        }
        for (Conn c : lingering) {
            c.close();
        }
        selector.close();
        double windowSeconds = (stopAt - start) / 1e9;
        writeCsv();
        writeSummary(startEpochMs, windowSeconds, (end - start) / 1e9, stopReason);
        System.err.printf(Locale.ROOT, "[loadgen] done: requests=%d ok=%d failed=%d (%s) achieved=%.1f/s stop=%s%n",
                rec.size, ok, failed, failedByKindText(), sent / Math.max(windowSeconds, 1e-9), stopReason);
        finished = true;
    }

    /** Starts request seq, due at nanoTime due, now (or records it as overload). */
    void launch(long seq, long now, long due, long timeoutNanos) {
        long sendEpochMs = System.currentTimeMillis();
        long lagNanos = now - due;
        maxLagNanos = Math.max(maxLagNanos, lagNanos);
        if (lagNanos > 10_000_000L) {
            lateOver10ms++;
        }
        int idx = rec.add(sendEpochMs);
        if (inFlight >= cfg.maxInFlight) {
            // Never dropped silently: a request we could not send is a failure of its own kind.
            overload++;
            finish(idx, 0, lagNanos, 0, OVERLOAD, null, null);
            return;
        }
        sent++;
        Req r = new Req(idx, now, due, now + timeoutNanos);
        Conn c = null;
        while (cfg.keepalive && c == null && !idle.isEmpty()) {
            c = idle.pollLast(); // most recently used first: keeps the pool small, as HTTP clients do
            if (isStale(c)) {
                c.close();
                c = null;
            }
        }
        inFlight++;
        pending.addLast(r);
        if (c != null) {
            c.reused = true;
            attach(c, r);
            startWrite(c);
            return;
        }
        try {
            SocketChannel ch = SocketChannel.open();
            ch.configureBlocking(false);
            ch.setOption(StandardSocketOptions.TCP_NODELAY, true);
            c = new Conn(ch);
            attach(c, r);
            if (ch.connect(target)) {
                startWrite(c);
            } else {
                c.key = ch.register(selector, SelectionKey.OP_CONNECT, c);
            }
        } catch (IOException e) {
            failIo(r, e);
        }
    }

    /**
     * The stale-connection check of common HTTP clients: a server's FIN may have arrived since the
     * last select(), so peek with a non-blocking read before reusing. A FIN still on its way is a
     * real keep-alive race and is reported as a reset (many clients would retry it; we do not).
     */
    boolean isStale(Conn c) {
        if (!c.ch.isOpen()) {
            return true;
        }
        try {
            readBuf.clear();
            return c.ch.read(readBuf) != 0; // -1: closed; > 0: bytes nobody asked for
        } catch (IOException e) {
            return true;
        }
    }

    void attach(Conn c, Req r) {
        c.req = r;
        c.resp = new Resp();
        r.conn = c;
    }

    void startWrite(Conn c) {
        c.out = ByteBuffer.wrap(requestBytes);
        try {
            c.ch.write(c.out);
            int ops = c.out.hasRemaining() ? SelectionKey.OP_WRITE : SelectionKey.OP_READ;
            if (c.key == null) {
                c.key = c.ch.register(selector, ops, c);
            } else {
                c.key.interestOps(ops);
            }
        } catch (IOException e) {
            failIo(c.req, e);
        }
    }

    void handleReady() {
        Iterator<SelectionKey> it = selector.selectedKeys().iterator();
        while (it.hasNext()) {
            SelectionKey k = it.next();
            it.remove();
            Conn c = (Conn) k.attachment();
            if (!k.isValid()) {
                continue;
            }
            Req r = c.req;
            if (r == null) {
                // An idle keep-alive or lingering connection became readable: the server closed it
                // (or sent something unasked). Either way it cannot carry another request.
                c.close();
                idle.remove(c);
                lingering.remove(c);
                continue;
            }
            try {
                if (k.isConnectable()) {
                    if (c.ch.finishConnect()) {
                        startWrite(c);
                    }
                } else if (k.isWritable()) {
                    c.ch.write(c.out);
                    if (!c.out.hasRemaining()) {
                        k.interestOps(SelectionKey.OP_READ);
                    }
                } else if (k.isReadable()) {
                    read(c, r);
                }
            } catch (IOException e) {
                failIo(r, e);
            }
        }
    }

    final ByteBuffer readBuf = ByteBuffer.allocate(16 * 1024);

    void read(Conn c, Req r) throws IOException {
        while (true) {
            readBuf.clear();
            int n = c.ch.read(readBuf);
            if (n < 0) {
                if (c.resp.completeOnEof()) {
                    complete(c, r, true);
                } else {
                    // The peer closed before a whole answer: what a client sees as a reset.
                    debug(r, RESET, "EOF");
                    fail(r, RESET);
                }
                return;
            }
            if (n == 0) {
                return;
            }
            readBuf.flip();
            if (!c.resp.feed(readBuf)) {
                fail(r, OTHER); // response too large or unparsable
                return;
            }
            if (c.resp.complete()) {
                complete(c, r, false);
                return;
            }
        }
    }

    void complete(Conn c, Req r, boolean atEof) {
        long end = System.nanoTime();
        Resp resp = c.resp;
        int status = resp.status;
        byte kind = status >= 200 && status < 300 ? NONE
                : status == 502 ? HTTP_502 : status == 503 ? HTTP_503 : status == 504 ? HTTP_504 : HTTP_OTHER;
        String pod = resp.pod();
        String version = resp.version();
        if (kind == NONE && cfg.expectBody != null) {
            // A 2xx is a success only when it is the answer the target gives: an error page or an
            // empty body with status 200 (a misrouted request, a default backend) is a failure.
            String body = resp.body();
            Matcher m = cfg.expectBody.matcher(body);
            String why = null;
            if (!m.matches()) {
                why = "body does not match --expect-body-regex: " + snippet(body);
            } else {
                String bodyPod = cfg.expectBodyHasPod ? group(m, "pod") : null;
                String bodyVersion = cfg.expectBodyHasVersion ? group(m, "version") : null;
                String podHeader = resp.podHeader();
                String versionHeader = resp.versionHeader();
                if (bodyPod != null && podHeader != null && !bodyPod.equals(podHeader)) {
                    why = "body names pod " + bodyPod + ", X-Pod header " + podHeader;
                } else if (bodyVersion != null && versionHeader != null && !bodyVersion.equals(versionHeader)) {
                    why = "body names version " + bodyVersion + ", X-Version header " + versionHeader;
                }
                pod = podHeader != null ? podHeader : bodyPod != null ? bodyPod : pod;
                version = versionHeader != null ? versionHeader : bodyVersion != null ? bodyVersion : version;
            }
            if (why != null) {
                kind = BAD_BODY;
                debug(r, BAD_BODY, why);
            }
        }
        r.done = true;
        inFlight--;
        finish(r.idx, end - r.start, end - r.due, status, kind, intern(pod), intern(version));
        c.req = null;
        if (atEof) {
            c.close();
        } else if (cfg.keepalive && !c.resp.close) {
            c.key.interestOps(SelectionKey.OP_READ); // to notice the server closing it while idle
            idle.addLast(c);
        } else {
            // Let the server close first, as a browser would: the TIME_WAIT then stays on its side.
            c.lingerUntil = System.nanoTime() + LINGER_NANOS;
            c.key.interestOps(SelectionKey.OP_READ);
            lingering.addLast(c);
        }
    }

    void failIo(Req r, IOException e) {
        byte kind = classify(e);
        debug(r, kind, e.toString());
        fail(r, kind);
    }

    void debug(Req r, byte kind, String detail) {
        if (debugLeft > 0 && r != null && !r.done) {
            debugLeft--;
            Conn c = r.conn;
            System.err.printf(Locale.ROOT, "[loadgen] debug seq=%d kind=%s after=%.1fms reused=%s phase=%s detail=%s%n",
                    r.idx, KINDS[kind], (System.nanoTime() - r.start) / 1e6, c != null && c.reused,
                    c == null ? "open" : c.key == null ? "connect" : c.resp.phase(), detail);
        }
    }

    void fail(Req r, byte kind) {
        if (r.done) {
            return;
        }
        r.done = true;
        inFlight--;
        long end = System.nanoTime();
        finish(r.idx, end - r.start, end - r.due, 0, kind, null, null);
        if (r.conn != null) {
            r.conn.req = null;
            r.conn.close();
        }
    }

    void expire(long now) {
        Req r;
        while ((r = pending.peekFirst()) != null && (r.done || r.deadline <= now)) {
            pending.pollFirst();
            if (!r.done) {
                debug(r, TIMEOUT, "deadline");
                fail(r, TIMEOUT);
            }
        }
        Conn c;
        while ((c = lingering.peekFirst()) != null && (!c.ch.isOpen() || c.lingerUntil <= now)) {
            lingering.pollFirst();
            c.close();
        }
    }

    /**
     * Records request idx's outcome. latencyNanos runs from its actual start (connect), the other
     * from the time it was due by the schedule: they differ by how late this process started it.
     */
    void finish(int idx, long latencyNanos, long fromScheduleNanos, int status, byte kind, String pod, String version) {
        rec.set(idx, latencyNanos, fromScheduleNanos, status, kind, pod, version);
        if (kind == NONE) {
            ok++;
        } else {
            failed++;
        }
    }

    static byte classify(IOException e) {
        if (e instanceof ConnectException) {
            return REFUSED; // ECONNREFUSED: nothing listens (any more) on that address
        }
        if (e instanceof SocketTimeoutException) {
            return TIMEOUT;
        }
        String m = String.valueOf(e.getMessage()).toLowerCase(Locale.ROOT);
        if (m.contains("refused")) {
            return REFUSED;
        }
        if (m.contains("reset") || m.contains("broken pipe") || m.contains("closed") || m.contains("eof")) {
            return RESET;
        }
        return OTHER; // e.g. "Cannot assign requested address" when ephemeral ports run out
    }

    String intern(String name) {
        if (name == null) {
            return null;
        }
        return podNames.computeIfAbsent(name, p -> p);
    }

    /** A named group of a match, made fit for a CSV cell; null when it took no part or does not exist. */
    static String group(Matcher m, String name) {
        try {
            String g = m.group(name);
            return g == null || g.isEmpty() ? null : Resp.clean(g);
        } catch (IllegalArgumentException e) {
            return null; // "(?<pod>" appeared in the regex without being a group, e.g. escaped
        }
    }

    /** The start of a body for a diagnostic line, escaped onto one line. */
    static String snippet(String body) {
        String s = body.length() > 80 ? body.substring(0, 80) + "..." : body;
        return '"' + s.replace("\\", "\\\\").replace("\n", "\\n").replace("\r", "\\r") + '"';
    }

    void progress(long elapsedNanos) {
        System.err.printf(Locale.ROOT, "[loadgen] t=%.1fs sent=%d ok=%d failed=%d inFlight=%d%n",
                elapsedNanos / 1e9, rec.size, ok, failed, inFlight);
    }

    String failedByKindText() {
        long[] byKind = rec.countByKind();
        StringBuilder sb = new StringBuilder();
        for (int k = 1; k < KINDS.length; k++) {
            if (byKind[k] > 0) {
                sb.append(sb.length() == 0 ? "" : " ").append(KINDS[k]).append('=').append(byKind[k]);
            }
        }
        return sb.length() == 0 ? "none" : sb.toString();
    }

    void writeCsv() throws IOException {
        if (cfg.out == null) {
            return;
        }
        mkParent(cfg.out);
        try (BufferedWriter w = Files.newBufferedWriter(cfg.out, StandardCharsets.UTF_8)) {
            w.write(CSV_HEADER + "\n");
            StringBuilder sb = new StringBuilder(128);
            for (int i = 0; i < rec.size; i++) {
                sb.setLength(0);
                sb.append(i).append(',').append(rec.sendEpochMs[i]).append(',');
                appendMs(sb, rec.latencyUs[i]);
                sb.append(',').append(rec.status[i]).append(',').append(KINDS[rec.kind[i]]).append(',');
                String pod = rec.pod[i];
                if (pod != null) {
                    sb.append(pod);
                }
                sb.append(',');
                String version = rec.version[i];
                if (version != null) {
                    sb.append(version);
                }
                // row i is request seq i, due at start + i * interval (the same origin as sendEpochMs)
                sb.append(',').append(startEpochMs + i * intervalNanos / 1_000_000L).append(',');
                appendMs(sb, rec.fromScheduleUs[i]);
                sb.append('\n');
                w.write(sb.toString());
            }
        }
    }

    /** Microseconds as milliseconds with three decimals, without String.format (a row per request). */
    static void appendMs(StringBuilder sb, long us) {
        sb.append(us / 1000).append('.').append((char) ('0' + us % 1000 / 100))
                .append((char) ('0' + us % 100 / 10)).append((char) ('0' + us % 10));
    }

    void writeSummary(long startEpochMs, double windowSeconds, double totalSeconds, String stopReason)
            throws IOException {
        if (cfg.summary == null) {
            return;
        }
        int n = rec.size;
        long[] byKind = rec.countByKind();
        // Latency over successful requests: failures have their own, meaningless, latencies.
        long[] okLat = new long[(int) ok];
        long[] okFromSchedule = new long[(int) ok];
        int j = 0;
        for (int i = 0; i < n; i++) {
            if (rec.kind[i] == NONE) {
                okLat[j] = rec.latencyUs[i];
                okFromSchedule[j++] = rec.fromScheduleUs[i];
            }
        }
        Arrays.sort(okLat);
        Arrays.sort(okFromSchedule);
        StringBuilder s = new StringBuilder();
        s.append("{\n");
        field(s, "url", cfg.url);
        field(s, "hostHeader", cfg.hostHeader);
        s.append("  \"keepalive\": ").append(cfg.keepalive).append(",\n");
        num(s, "targetRate", cfg.rate);
        s.append("  \"timeoutMs\": ").append(cfg.timeoutMs).append(",\n");
        s.append("  \"maxInFlight\": ").append(cfg.maxInFlight).append(",\n");
        field(s, "expectBodyRegex", cfg.expectBodyRegex);
        field(s, "stopReason", stopReason);
        s.append("  \"startEpochMs\": ").append(startEpochMs).append(",\n");
        s.append("  \"requests\": ").append(n).append(",\n");
        s.append("  \"sent\": ").append(sent).append(",\n");
        s.append("  \"ok\": ").append(ok).append(",\n");
        s.append("  \"failed\": ").append(failed).append(",\n");
        s.append("  \"failedByKind\": {");
        boolean firstKind = true;
        for (int k = 1; k < KINDS.length; k++) {
            if (byKind[k] > 0) {
                s.append(firstKind ? "" : ", ").append('"').append(KINDS[k]).append("\": ").append(byKind[k]);
                firstKind = false;
            }
        }
        s.append("},\n");
        num(s, "durationSeconds", windowSeconds);
        num(s, "totalSeconds", totalSeconds);
        num(s, "achievedRate", sent / Math.max(windowSeconds, 1e-9));
        percentiles(s, "latencyMs", okLat);
        percentiles(s, "latencyFromScheduleMs", okFromSchedule);
        s.append("  \"scheduleLagMs\": {\"max\": ").append(ms(maxLagNanos / 1000))
                .append(", \"over10ms\": ").append(lateOver10ms).append("},\n");
        // Per second since start, by send time: the data of a timeline plot.
        int seconds = n == 0 ? 0 : (int) ((rec.sendEpochMs[n - 1] - startEpochMs) / 1000) + 1;
        long[][] per = new long[seconds][KINDS.length];
        for (int i = 0; i < n; i++) {
            per[(int) ((rec.sendEpochMs[i] - startEpochMs) / 1000)][rec.kind[i]]++;
        }
        s.append("  \"perSecond\": [");
        for (int sec = 0; sec < seconds; sec++) {
            long okN = per[sec][NONE];
            long failN = 0;
            StringBuilder kinds = new StringBuilder();
            for (int k = 1; k < KINDS.length; k++) {
                if (per[sec][k] > 0) {
                    failN += per[sec][k];
                    kinds.append(kinds.length() == 0 ? "" : ", ").append('"').append(KINDS[k]).append("\": ")
                            .append(per[sec][k]);
                }
            }
            s.append(sec == 0 ? "\n" : ",\n").append("    {\"second\": ").append(sec).append(", \"ok\": ").append(okN)
                    .append(", \"failed\": ").append(failN).append(", \"failedByKind\": {").append(kinds).append("}}");
        }
        s.append(seconds == 0 ? "]\n" : "\n  ]\n").append("}\n");
        mkParent(cfg.summary);
        Files.writeString(cfg.summary, s.toString());
    }

    static void percentiles(StringBuilder s, String name, long[] sortedUs) {
        s.append("  \"").append(name).append("\": {\"p50\": ").append(ms(pct(sortedUs, 0.50)))
                .append(", \"p90\": ").append(ms(pct(sortedUs, 0.90)))
                .append(", \"p99\": ").append(ms(pct(sortedUs, 0.99)))
                .append(", \"max\": ").append(ms(sortedUs.length == 0 ? 0 : sortedUs[sortedUs.length - 1])).append("},\n");
    }

    static long pct(long[] sorted, double p) {
        if (sorted.length == 0) {
            return 0;
        }
        int rank = (int) Math.ceil(p * sorted.length); // nearest-rank percentile
        return sorted[Math.max(0, rank - 1)];
    }

    static String ms(long us) {
        return String.format(Locale.ROOT, "%.3f", us / 1000.0);
    }

    static void field(StringBuilder s, String name, String value) {
        s.append("  \"").append(name).append("\": ");
        if (value == null) {
            s.append("null");
        } else {
            s.append('"').append(value.replace("\\", "\\\\").replace("\"", "\\\"")).append('"');
        }
        s.append(",\n");
    }

    static void num(StringBuilder s, String name, double v) {
        s.append("  \"").append(name).append("\": ").append(String.format(Locale.ROOT, "%.3f", v)).append(",\n");
    }

    static void mkParent(Path p) throws IOException {
        Path parent = p.toAbsolutePath().getParent();
        if (parent != null) {
            Files.createDirectories(parent);
        }
    }

    /** One request: index into the records, start time, scheduled time and deadline (all nanoTime). */
    static final class Req {
        final int idx;
        final long start;
        final long due;
        final long deadline;
        Conn conn;
        boolean done;

        Req(int idx, long start, long due, long deadline) {
            this.idx = idx;
            this.start = start;
            this.due = due;
            this.deadline = deadline;
        }
    }

    /** One TCP connection and the request it currently carries. */
    static final class Conn {
        final SocketChannel ch;
        SelectionKey key;
        ByteBuffer out;
        Resp resp;
        Req req;
        boolean reused;
        long lingerUntil;

        Conn(SocketChannel ch) {
            this.ch = ch;
        }

        void close() {
            if (key != null) {
                key.cancel();
            }
            try {
                ch.close();
            } catch (IOException ignored) {
                // closing is best effort; the request's outcome is already recorded
            }
        }
    }

    /** Every request's outcome, in parallel primitive arrays so a long run stays small in memory. */
    static final class Records {
        int size;
        long[] sendEpochMs = new long[1024];
        long[] latencyUs = new long[1024];
        long[] fromScheduleUs = new long[1024];
        short[] status = new short[1024];
        byte[] kind = new byte[1024];
        String[] pod = new String[1024];
        String[] version = new String[1024];

        int add(long sendMs) {
            if (size == sendEpochMs.length) {
                int cap = size * 2;
                sendEpochMs = Arrays.copyOf(sendEpochMs, cap);
                latencyUs = Arrays.copyOf(latencyUs, cap);
                fromScheduleUs = Arrays.copyOf(fromScheduleUs, cap);
                status = Arrays.copyOf(status, cap);
                kind = Arrays.copyOf(kind, cap);
                pod = Arrays.copyOf(pod, cap);
                version = Arrays.copyOf(version, cap);
            }
            sendEpochMs[size] = sendMs;
            kind[size] = -1; // not finished yet
            return size++;
        }

        void set(int i, long latencyNanos, long fromScheduleNanos, int st, byte k, String p, String v) {
            latencyUs[i] = latencyNanos / 1000;
            fromScheduleUs[i] = fromScheduleNanos / 1000;
            status[i] = (short) st;
            kind[i] = k;
            pod[i] = p;
            version[i] = v;
        }

        long[] countByKind() {
            long[] c = new long[KINDS.length];
            for (int i = 0; i < size; i++) {
                if (kind[i] >= 0) {
                    c[kind[i]]++;
                }
            }
            return c;
        }
    }
}
