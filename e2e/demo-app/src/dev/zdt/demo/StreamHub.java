package dev.zdt.demo;

import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.BiConsumer;

/**
 * The long-lived streams of the app (server-sent events on the HTTP port, WebSockets on their own
 * port, and gRPC server streams on theirs when e2e/grpc-stream is on the class path): what they
 * send, how many may be open, and how they all end on the drain signal.
 *
 * <p>Every stream sends numbered messages {@code seq = from, from+1, ...} one per interval, and
 * starts from the number the client asks for, so a client that reconnects (to this pod or to
 * another) resumes where it stopped: any pod can continue any stream, the messages being a pure
 * function of their number. The drain signal (SIGTERM, or {@code GET /drain-streams} before it)
 * ends every stream with a goodbye the client can tell from a failure (a final SSE event, a
 * WebSocket close 1001), and refuses new ones with 503 so clients go to another pod.
 */
final class StreamHub {

    /** One open stream, whatever its protocol. */
    interface Stream {
        String kind();

        long id();

        /** Ends the stream cleanly (final event or close 1001) on its own thread; returns at once. */
        void end(String reason);

        /** Closes the connection at once, without a goodbye (the drain ran out of time). */
        void abort();
    }

    // Lower bound on intervalMs: a client must not turn one stream into a flood of messages.
    static final long MIN_INTERVAL_MS = 10;
    static final long MAX_INTERVAL_MS = 60_000;
    // seq is sent as a JSON number: stay within what a double holds exactly.
    static final long MAX_SEQ = 1L << 52;

    final String pod;
    final String version;
    final long defaultIntervalMs;
    final int maxStreams;
    private final BiConsumer<String, String> log;

    private final Set<Stream> open = ConcurrentHashMap.newKeySet();
    private final AtomicLong ids = new AtomicLong();
    final AtomicLong opened = new AtomicLong();
    final AtomicLong endedClean = new AtomicLong();   // our goodbye was sent (and, for WebSocket, answered or timed out)
    final AtomicLong closedByClient = new AtomicLong();
    final AtomicLong failed = new AtomicLong();       // write error or protocol error
    final AtomicLong refused = new AtomicLong();      // 503: draining or full
    final AtomicLong messagesSent = new AtomicLong();
    private volatile String drainReason;               // null until the drain signal
    // Run once, on the first drain signal, before the streams are ended (the gRPC server's GOAWAY).
    private final java.util.List<Runnable> onDrain = new java.util.concurrent.CopyOnWriteArrayList<>();

    StreamHub(String pod, String version, long defaultIntervalMs, int maxStreams, BiConsumer<String, String> log) {
        this.pod = pod;
        this.version = version;
        this.defaultIntervalMs = defaultIntervalMs;
        this.maxStreams = maxStreams;
        this.log = log;
    }

    long nextId() {
        return ids.incrementAndGet();
    }

    boolean draining() {
        return drainReason != null;
    }

    /** Adds what the first drain signal does before it ends the streams (e.g. stop taking new calls). */
    void onDrain(Runnable r) {
        onDrain.add(r);
    }

    /**
     * Registers a stream about to start, or says why it may not: {@code null} when admitted, else
     * the 503 body. Checked under the lock the drain takes, so no stream slips in after it began.
     */
    synchronized String admit(Stream s) {
        if (drainReason != null) {
            refused.incrementAndGet();
            return "draining\n";
        }
        if (open.size() >= maxStreams) {
            refused.incrementAndGet();
            return "too many streams (MAX_STREAMS=" + maxStreams + ")\n";
        }
        open.add(s);
        opened.incrementAndGet();
        return null;
    }

    /** The stream is gone: how = drain | client | error | aborted. */
    void closed(Stream s, String how, long sent, long lastSeq, long openNanos) {
        // Logged before it leaves the set, so the drain's closing line comes after every stream's.
        if (!open.contains(s)) {
            return;
        }
        switch (how) {
            case "drain":
                endedClean.incrementAndGet();
                break;
            case "client":
                closedByClient.incrementAndGet();
                break;
            default:
                failed.incrementAndGet();
        }
        log.accept("stream-close", "kind=" + s.kind() + " id=" + s.id() + " how=" + how + " sent=" + sent
                + " lastSeq=" + lastSeq + " durationMs=" + TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - openNanos)
                + " open=" + (open.size() - 1));
        open.remove(s);
    }

    void logOpen(Stream s, long from, long intervalMs, String remote) {
        log.accept("stream-open", "kind=" + s.kind() + " id=" + s.id() + " from=" + from + " intervalMs=" + intervalMs
                + " remote=" + remote + " open=" + open.size());
    }

    int openCount() {
        return open.size();
    }

    /**
     * The drain signal: refuses new streams from now on and ends every open one cleanly, waiting
     * until all are closed or the deadline passes; the ones left then are closed without a goodbye.
     * Called again (SIGTERM after {@code /drain-streams}) it waits for what is still open.
     *
     * @return how many streams were still open at the deadline (0 when all ended in time)
     */
    int drain(String trigger, long deadlineNanos) {
        long t0 = System.nanoTime();
        Stream[] toEnd;
        synchronized (this) {
            boolean first = drainReason == null;
            if (first) {
                drainReason = trigger;
            }
            toEnd = open.toArray(new Stream[0]);
            log.accept("drain-streams", "trigger=" + trigger + " open=" + toEnd.length + " ws=" + count(toEnd, "ws")
                    + " sse=" + count(toEnd, "sse") + " grpc=" + count(toEnd, "grpc") + (first ? "" : " again=true"));
            if (first) {
                for (Runnable r : onDrain) {
                    r.run();
                }
            }
        }
        for (Stream s : toEnd) {
            s.end("draining");
        }
        while (!open.isEmpty() && System.nanoTime() < deadlineNanos) {
            sleepQuietly(5);
        }
        Stream[] left = open.toArray(new Stream[0]);
        if (left.length > 0) {
            // On a thread of its own: closing an exchange whose writer is stuck on a client that reads
            // nothing can block too, and the caller (the SIGTERM hook) must still reach its exit.
            Thread aborter = new Thread(() -> {
                for (Stream s : left) {
                    s.abort();
                }
            }, "stream-abort");
            aborter.setDaemon(true);
            aborter.start();
        }
        log.accept("streams-drained", "trigger=" + trigger + " ended=" + toEnd.length + " abandoned=" + left.length
                + " drainMs=" + TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0));
        return left.length;
    }

    private static int count(Stream[] streams, String kind) {
        int n = 0;
        for (Stream s : streams) {
            if (s.kind().equals(kind)) {
                n++;
            }
        }
        return n;
    }

    String statsJson() {
        return "{\"open\":" + open.size() + ",\"opened\":" + opened.get() + ",\"endedClean\":" + endedClean.get()
                + ",\"closedByClient\":" + closedByClient.get() + ",\"failed\":" + failed.get()
                + ",\"refused\":" + refused.get() + ",\"messagesSent\":" + messagesSent.get()
                + ",\"draining\":" + draining() + "}";
    }

    /** The first message of every stream: which pod serves it, before any numbered message. */
    String hello(String kind, long id, long from) {
        return "{\"hello\":true,\"kind\":\"" + kind + "\",\"stream\":" + id + ",\"from\":" + from
                + ",\"pod\":\"" + json(pod) + "\",\"version\":\"" + json(version) + "\"}";
    }

    String message(String kind, long id, long seq) {
        return "{\"seq\":" + seq + ",\"kind\":\"" + kind + "\",\"stream\":" + id + ",\"pod\":\"" + json(pod)
                + "\",\"version\":\"" + json(version) + "\",\"sentEpochMs\":" + System.currentTimeMillis() + "}";
    }

    /** The SSE goodbye's data; WebSocket says the same in its close frame (1001, "draining"). */
    String end(String reason, long lastSeq) {
        return "{\"end\":true,\"reason\":\"" + json(reason) + "\",\"lastSeq\":" + lastSeq + ",\"pod\":\"" + json(pod)
                + "\"}";
    }

    /**
     * Reads {@code from} and {@code intervalMs} of a stream request; a bad value is an
     * IllegalArgumentException whose message is the 400 answer.
     *
     * @param lastEventId the SSE Last-Event-ID header, or null: resume after it
     * @return {from, intervalMs}
     */
    long[] params(String rawQuery, String lastEventId) {
        long from = 1;
        long interval = defaultIntervalMs;
        if (rawQuery != null) {
            for (String kv : rawQuery.split("&")) {
                if (kv.startsWith("from=")) {
                    from = number("from", kv.substring(5), 1, MAX_SEQ);
                } else if (kv.startsWith("intervalMs=")) {
                    interval = number("intervalMs", kv.substring(11), MIN_INTERVAL_MS, MAX_INTERVAL_MS);
                }
            }
        }
        if (lastEventId != null && !lastEventId.isBlank()) {
            // The standard way an EventSource resumes: the last id it saw, so we go on after it.
            from = number("Last-Event-ID", lastEventId.trim(), 0, MAX_SEQ - 1) + 1;
        }
        return new long[] {from, interval};
    }

    private static long number(String name, String v, long min, long max) {
        long n;
        try {
            n = Long.parseLong(v);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(name + " must be an integer between " + min + " and " + max);
        }
        if (n < min || n > max) {
            throw new IllegalArgumentException(name + " must be an integer between " + min + " and " + max);
        }
        return n;
    }

    static String json(String s) {
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

    static void sleepQuietly(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
