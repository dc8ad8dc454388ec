package dev.zdt.demo;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;

import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.concurrent.Executors;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A small HTTP service that behaves like a well-written production app during a rollout:
 * it answers with its pod name, reports readiness on /healthz, can be asked to take N ms per
 * request, and on SIGTERM stops accepting, finishes what is in flight, and exits 0.
 * It adds no delay of its own on SIGTERM: holding the pod until it is out of rotation is the
 * operator's job, and this app must show what happens without it.
 */
public final class DemoApp {

    // Millisecond precision always printed (Instant.toString drops ".000"), so lines sort and parse uniformly.
    private static final DateTimeFormatter TS =
            DateTimeFormatter.ofPattern("yyyy-MM-dd'T'HH:mm:ss.SSS'Z'").withZone(ZoneOffset.UTC);

    // Upper bound on ?delayMs so a typo cannot park a request for days.
    private static final long MAX_DELAY_MS = 600_000;

    private final String pod;
    private final String version;
    private final int port;
    private final String bindAddress;
    private final int threads;
    private final int backlog;
    private final long defaultDelayMs;
    private final int shutdownTimeoutSeconds;
    private final long startupDelayMs;
    private final int wsPort;
    private final long wsCloseWaitMs;
    private final byte[] drainStreamsToken;
    private final StreamHub streams;
    private WsServer wsServer;
    private final int grpcPort;
    private GrpcStreams grpc;

    private volatile boolean draining;
    // False until the warm-up is done: /healthz answers 503 "warming" meanwhile.
    private volatile boolean warm;
    private final int warmupRequests;
    private HttpServer server;
    private ThreadPoolExecutor pool;
    private ScheduledExecutorService timer;

    // All exchanges not yet answered: shutdown waits for this one to reach zero.
    private final AtomicInteger allInFlight = new AtomicInteger();
    // Only requests to "/": what /stats reports, so the probe itself does not show up.
    private final AtomicInteger appInFlight = new AtomicInteger();
    private final AtomicLong served = new AtomicLong();
    private final AtomicLong servedAfterSigterm = new AtomicLong();

    DemoApp() {
        this.pod = firstNonBlank(System.getenv("POD_NAME"), hostname());
        this.version = firstNonBlank(System.getenv("APP_VERSION"), "v1");
        this.port = intEnv("PORT", 8080);
        this.bindAddress = firstNonBlank(System.getenv("BIND_ADDRESS"), "0.0.0.0");
        this.threads = intEnv("THREADS", 200);
        this.backlog = intEnv("BACKLOG", 1024);
        this.defaultDelayMs = intEnv("DEFAULT_DELAY_MS", 0);
        this.shutdownTimeoutSeconds = intEnv("SHUTDOWN_TIMEOUT_SECONDS", 30);
        this.startupDelayMs = intEnv("STARTUP_DELAY_MS", 0);
        this.warmupRequests = intEnv("WARMUP_REQUESTS", 500);
        this.wsPort = intEnv("WS_PORT", 8081);
        this.wsCloseWaitMs = intEnv("WS_CLOSE_WAIT_MS", 2000);
        this.grpcPort = intEnv("GRPC_PORT", -1);
        if (grpcPort < -1 || grpcPort > 65535) {
            throw new IllegalArgumentException("GRPC_PORT must be -1 (off), 0 (a free port) or a port up to 65535, got "
                    + grpcPort);
        }
        if (grpcPort >= 0) {
            GrpcStreams.checkPresent(grpcPort);
        }
        String token = System.getenv("DRAIN_STREAMS_TOKEN");
        this.drainStreamsToken = token == null || token.isBlank() ? null : token.trim().getBytes(StandardCharsets.UTF_8);
        int interval = intEnv("STREAM_INTERVAL_MS", 100);
        if (interval < StreamHub.MIN_INTERVAL_MS || interval > StreamHub.MAX_INTERVAL_MS) {
            throw new IllegalArgumentException("STREAM_INTERVAL_MS must be between " + StreamHub.MIN_INTERVAL_MS
                    + " and " + StreamHub.MAX_INTERVAL_MS + ", got " + interval);
        }
        int maxStreams = intEnv("MAX_STREAMS", 1000);
        if (maxStreams < 0 || wsCloseWaitMs < 0 || wsPort < -1 || wsPort > 65535) {
            throw new IllegalArgumentException("MAX_STREAMS and WS_CLOSE_WAIT_MS must be >= 0, WS_PORT -1..65535");
        }
        this.streams = new StreamHub(pod, version, interval, maxStreams, this::log);
    }

    public static void main(String[] args) throws Exception {
        // Without TCP_NODELAY the body (a second write after the headers) waits for the client's
        // delayed ACK: ~40 ms on every keep-alive request, which is how an ingress talks to pods.
        defaultProperty("sun.net.httpserver.nodelay", "true");
        // The JDK closes idle keep-alive connections silently past 200 of them or after 30 s. A proxy
        // that reuses one at that moment gets an EOF (a 502 risk unrelated to rollouts), so idle
        // connections are kept longer than proxies keep theirs (Traefik 90 s, nginx 60 s): they close first.
        defaultProperty("sun.net.httpserver.maxIdleConnections", "100000");
        defaultProperty("sun.net.httpserver.idleInterval", String.valueOf(intEnv("IDLE_TIMEOUT_SECONDS", 120)));
        new DemoApp().run();
    }

    void run() throws Exception {
        log("start", "version=" + version + " threads=" + threads
                + " shutdownTimeoutSeconds=" + shutdownTimeoutSeconds + " streamIntervalMs=" + streams.defaultIntervalMs
                + " maxStreams=" + streams.maxStreams);
        // Registered before the server exists so a SIGTERM during a slow start still exits cleanly.
        Runtime.getRuntime().addShutdownHook(new Thread(this::shutdown, "sigterm"));
        if (startupDelayMs > 0) {
            Thread.sleep(startupDelayMs); // simulates a slow-starting app: the port is closed until then
        }

        pool = new ThreadPoolExecutor(threads, threads, 60, TimeUnit.SECONDS, new LinkedBlockingQueue<>(),
                daemonFactory("http-worker"));
        // Delayed answers wait on a timer, not on a worker thread, so thousands of slow
        // requests can be in flight at once without exhausting the pool.
        timer = Executors.newSingleThreadScheduledExecutor(daemonFactory("delay-timer"));

        server = HttpServer.create(new InetSocketAddress(bindAddress, port), backlog);
        server.createContext("/", this::route);
        server.setExecutor(pool);
        server.start();
        if (wsPort >= 0) {
            wsServer = new WsServer(streams, bindAddress, wsPort, backlog, wsCloseWaitMs, this::log);
            wsServer.start();
        }
        if (grpcPort >= 0) {
            grpc = GrpcStreams.start(streams, bindAddress, grpcPort, this::log);
        }
        // A fresh JVM answers its first few hundred requests from interpreted code: on a small node
        // where another pod is starting too, that took 1-5 s per request (the rollout benchmark's
        // new pods, in their first seconds of traffic). Production JVM services warm up before they
        // report ready; so does this one, on loopback, through the same HTTP stack.
        log("listening", "port=" + server.getAddress().getPort() + " warmupRequests=" + warmupRequests);
        long warmStart = System.nanoTime();
        int warmed = warmUp(server.getAddress().getPort());
        warm = true;
        log("ready", "port=" + server.getAddress().getPort() + " bind=" + bindAddress
                + " wsPort=" + (wsServer == null ? "off" : String.valueOf(wsServer.port()))
                + " grpcPort=" + (grpc == null ? "off" : String.valueOf(grpc.port())) + " warmupRequests=" + warmed
                + " warmupMs=" + (System.nanoTime() - warmStart) / 1_000_000);
        // The main thread stays alive on purpose: only the shutdown hook ends the process.
        new java.util.concurrent.CountDownLatch(1).await();
    }

    private void route(HttpExchange ex) {
        allInFlight.incrementAndGet();
        try {
            String path = ex.getRequestURI().getPath();
            switch (path) {
                case "/":
                    root(ex);
                    return; // root() answers (now or later) and does the bookkeeping
                case "/healthz":
                    // 503 once SIGTERM arrived, so a readiness probe takes the pod out of rotation;
                    // 503 before the warm-up is done, so it joins the rotation ready to answer fast.
                    respond(ex, draining || !warm ? 503 : 200, draining ? "draining\n" : warm ? "ok\n" : "warming\n",
                            "text/plain");
                    break;
                case "/prestop":
                    // A template's own preStop hook (httpGet) lands here: the log line shows it ran,
                    // and when, against the drain helper's line and SIGTERM.
                    log("prestop", "");
                    respond(ex, 200, "ok\n", "text/plain");
                    break;
                case "/stats":
                    respond(ex, 200, "{\"served\":" + served.get() + ",\"inFlight\":" + appInFlight.get()
                            + ",\"servedAfterSigterm\":" + servedAfterSigterm.get()
                            + ",\"draining\":" + draining + ",\"pod\":\"" + pod + "\",\"version\":\""
                            + version + "\",\"streams\":" + streams.statsJson() + "}\n", "application/json");
                    break;
                case "/sse":
                    if (sse(ex)) {
                        return; // the stream's thread answers and does the bookkeeping
                    }
                    break;
                case "/drain-streams":
                    drainStreams(ex);
                    break;
                default:
                    respond(ex, 404, "not found\n", "text/plain");
            }
            allInFlight.decrementAndGet();
        } catch (RuntimeException e) {
            allInFlight.decrementAndGet();
            throw e;
        }
    }

    /** Starts an SSE stream; false when it was answered at once (400, 503). */
    private boolean sse(HttpExchange ex) {
        if (!"GET".equals(ex.getRequestMethod())) {
            ex.getResponseHeaders().set("Allow", "GET");
            respond(ex, 405, "only GET\n", "text/plain");
            return false;
        }
        long[] p;
        try {
            p = streams.params(ex.getRequestURI().getRawQuery(), ex.getRequestHeaders().getFirst("Last-Event-ID"));
        } catch (IllegalArgumentException e) {
            respond(ex, 400, e.getMessage() + "\n", "text/plain");
            return false;
        }
        SseStream s = new SseStream(streams, ex, p[0], p[1], allInFlight::decrementAndGet);
        String refusal = streams.admit(s);
        if (refusal != null) {
            // Draining or full: the client should go to another pod, now.
            ex.getResponseHeaders().set("Retry-After", "0");
            respond(ex, 503, refusal, "text/plain");
            return false;
        }
        try {
            s.open();
        } catch (IOException e) {
            streams.closed(s, "client", 0, p[0] - 1, s.openNanos);
            ex.close();
            return false;
        }
        streams.logOpen(s, p[0], p[1], String.valueOf(ex.getRemoteAddress()));
        Thread t = new Thread(s, "sse-" + s.id());
        t.setDaemon(true);
        t.start();
        return true;
    }

    /**
     * GET /drain-streams: the drain signal without SIGTERM (a preStop hook or the drain helper calls
     * it once no new connection can reach the pod). Ends every stream cleanly, refuses new ones, and
     * answers when all are closed (or SHUTDOWN_TIMEOUT_SECONDS passed). Plain requests are still served.
     */
    private void drainStreams(HttpExchange ex) {
        if (drainStreamsToken != null) {
            String given = ex.getRequestHeaders().getFirst("X-Drain-Token");
            if (given == null || !java.security.MessageDigest.isEqual(drainStreamsToken,
                    given.trim().getBytes(StandardCharsets.UTF_8))) {
                log("drain-streams-refused", "remote=" + ex.getRemoteAddress());
                respond(ex, 403, "X-Drain-Token missing or wrong (DRAIN_STREAMS_TOKEN is set)\n", "text/plain");
                return;
            }
        }
        int ended = streams.openCount();
        int left = streams.drain("endpoint", System.nanoTime() + TimeUnit.SECONDS.toNanos(shutdownTimeoutSeconds));
        respond(ex, 200, "{\"ended\":" + ended + ",\"abandoned\":" + left + "}\n", "application/json");
    }

    private void root(HttpExchange ex) {
        appInFlight.incrementAndGet();
        long delay;
        try {
            delay = parseDelay(ex.getRequestURI().getRawQuery());
        } catch (IllegalArgumentException e) {
            finish(ex, 400, e.getMessage() + "\n", false);
            return;
        }
        if (delay <= 0) {
            // Warm-up requests are the app's own: not counted in /stats.
            finish(ex, 200, body(), !ex.getRequestHeaders().containsKey(WARMUP_HEADER));
        } else {
            // The answer is written by a worker after the delay; the exchange stays open meanwhile.
            timer.schedule(() -> pool.execute(() -> finish(ex, 200, body(), true)), delay, TimeUnit.MILLISECONDS);
        }
    }

    private void finish(HttpExchange ex, int status, String body, boolean count) {
        try {
            respond(ex, status, body, "text/plain");
            if (count) {
                served.incrementAndGet();
                if (draining) {
                    servedAfterSigterm.incrementAndGet();
                }
            }
        } finally {
            appInFlight.decrementAndGet();
            allInFlight.decrementAndGet();
        }
    }

    private static final String WARMUP_HEADER = "X-Demo-Warmup";

    /**
     * Sends WARMUP_REQUESTS requests for "/" and "/healthz" to the app's own port over loopback, two
     * at a time, so the hot paths are compiled before the pod reports ready. Stops early on SIGTERM.
     *
     * @return how many were answered
     */
    private int warmUp(int port) throws InterruptedException {
        String host = "0.0.0.0".equals(bindAddress) || "::".equals(bindAddress) ? "127.0.0.1" : bindAddress;
        AtomicInteger answered = new AtomicInteger();
        AtomicInteger next = new AtomicInteger();
        Runnable worker = () -> {
            while (!draining && next.getAndIncrement() < warmupRequests) {
                String path = next.get() % 4 == 0 ? "/healthz" : "/";
                try {
                    var conn = (java.net.HttpURLConnection) new java.net.URL("http", host, port, path).openConnection();
                    conn.setRequestProperty(WARMUP_HEADER, "1");
                    conn.setConnectTimeout(2000);
                    conn.setReadTimeout(2000);
                    try (var in = conn.getResponseCode() < 400 ? conn.getInputStream() : conn.getErrorStream()) {
                        if (in != null) {
                            in.readAllBytes();
                        }
                    }
                    answered.incrementAndGet();
                } catch (java.io.IOException e) {
                    log("warmup-error", "path=" + path + " error=" + e);
                    return;
                }
            }
        };
        Thread a = new Thread(worker, "warmup-1");
        Thread b = new Thread(worker, "warmup-2");
        a.start();
        b.start();
        a.join();
        b.join();
        return answered.get();
    }

    private String body() {
        return "pod=" + pod + " version=" + version + "\n";
    }

    private void respond(HttpExchange ex, int status, String body, String contentType) {
        byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
        try (ex) {
            ex.getResponseHeaders().set("Content-Type", contentType);
            ex.getResponseHeaders().set("X-Pod", pod);
            ex.getResponseHeaders().set("X-Version", version);
            if (draining) {
                // Tells keep-alive clients to reconnect (to another pod) instead of reusing this connection.
                ex.getResponseHeaders().set("Connection", "close");
            }
            boolean head = "HEAD".equals(ex.getRequestMethod());
            ex.sendResponseHeaders(status, head ? -1 : bytes.length);
            if (!head) {
                try (OutputStream out = ex.getResponseBody()) {
                    out.write(bytes);
                }
            }
        } catch (IOException e) {
            // The client went away; nothing to answer to, and the counters are kept by the callers.
        }
    }

    private long parseDelay(String rawQuery) {
        long delay = defaultDelayMs;
        if (rawQuery != null) {
            for (String kv : rawQuery.split("&")) {
                if (kv.startsWith("delayMs=")) {
                    try {
                        delay = Long.parseLong(kv.substring("delayMs=".length()));
                    } catch (NumberFormatException e) {
                        throw new IllegalArgumentException("delayMs must be an integer");
                    }
                }
            }
        }
        if (delay < 0 || delay > MAX_DELAY_MS) {
            throw new IllegalArgumentException("delayMs must be between 0 and " + MAX_DELAY_MS);
        }
        return delay;
    }

    /**
     * SIGTERM: close the listener at once, keep serving exchanges already accepted (and requests
     * that still arrive on open keep-alive connections), wait until none is left or the timeout
     * expires, then exit 0.
     */
    private void shutdown() {
        long t0 = System.nanoTime();
        draining = true;
        log("sigterm", "inFlight=" + allInFlight.get());
        if (server == null) {
            log("exit", "code=0 reason=not-started");
            halt();
            return;
        }
        // HttpServer.stop(d) closes the listener first, then waits up to d seconds. On JDK 17 it
        // does not return early when nothing is in flight, so it runs on its own thread and this
        // thread decides when to exit, from its own count of open exchanges.
        Thread stopper = new Thread(() -> server.stop(shutdownTimeoutSeconds), "http-stop");
        stopper.setDaemon(true);
        stopper.start();
        if (wsServer != null) {
            wsServer.stopAccepting();
        }

        long deadline = t0 + TimeUnit.SECONDS.toNanos(shutdownTimeoutSeconds);
        // Streams never end by themselves: say goodbye on each (SSE end event, WebSocket close 1001)
        // so their clients reconnect elsewhere and the SSE exchanges leave the in-flight count.
        int streamsLeft = streams.drain("sigterm", deadline);
        if (grpc != null) {
            // The gRPC server took no new call since the drain began (GOAWAY); its statuses must reach
            // the clients before the process halts.
            grpc.awaitTermination(deadline);
        }
        long nextReport = System.nanoTime();
        int n;
        while ((n = allInFlight.get()) > 0 && System.nanoTime() < deadline) {
            if (System.nanoTime() >= nextReport) {
                log("inflight", "inFlight=" + n);
                nextReport += TimeUnit.SECONDS.toNanos(1);
            }
            sleepQuietly(5);
        }
        // stop(0) ends the dispatcher and closes idle keep-alive connections now. Without it the JVM
        // lingers ~300 ms in halt() waiting for the dispatcher thread blocked in epoll (native code).
        server.stop(0);
        long drainMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
        log("stopped", "served=" + served.get() + " servedAfterSigterm=" + servedAfterSigterm.get()
                + " abandoned=" + n + " streamsOpened=" + streams.opened.get() + " streamsAbandoned=" + streamsLeft
                + " drainMs=" + drainMs + (n > 0 ? " reason=timeout" : ""));
        log("exit", "code=0");
        halt();
    }

    private static void defaultProperty(String name, String value) {
        if (System.getProperty(name) == null) {
            System.setProperty(name, value);
        }
    }

    private static void halt() {
        System.out.flush();
        // halt, not exit: we are inside a shutdown hook, and the JVM would otherwise report 143 for SIGTERM.
        Runtime.getRuntime().halt(0);
    }

    private void log(String event, String rest) {
        String line = TS.format(java.time.Instant.now()) + " event=" + event + " pod=" + pod
                + (rest.isEmpty() ? "" : " " + rest);
        synchronized (System.out) {
            System.out.println(line);
            System.out.flush();
        }
    }

    private static java.util.concurrent.ThreadFactory daemonFactory(String prefix) {
        AtomicInteger n = new AtomicInteger();
        return r -> {
            Thread t = new Thread(r, prefix + "-" + n.incrementAndGet());
            // Daemon threads: they must never be the reason the JVM outlives the drain.
            t.setDaemon(true);
            return t;
        };
    }

    private static void sleepQuietly(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private static String hostname() {
        String h = System.getenv("HOSTNAME");
        if (h != null && !h.isBlank()) {
            return h;
        }
        try {
            return InetAddress.getLocalHost().getHostName();
        } catch (IOException e) {
            return "unknown";
        }
    }

    private static String firstNonBlank(String a, String b) {
        return a != null && !a.isBlank() ? a.trim() : b;
    }

    private static int intEnv(String name, int dflt) {
        String v = System.getenv(name);
        if (v == null || v.isBlank()) {
            return dflt;
        }
        try {
            return Integer.parseInt(v.trim());
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(name + " must be an integer, got '" + v + "'");
        }
    }
}
