package dev.zdt.operator.ingress;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.net.URI;
import java.net.http.HttpConnectTimeoutException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

import jakarta.annotation.PreDestroy;
import jakarta.inject.Singleton;
import jakarta.inject.Inject;

import dev.zdt.operator.api.v1alpha1.Provider;
import dev.zdt.operator.ingress.FrontEndApi.Hints;
import io.fabric8.kubernetes.client.KubernetesClient;

/**
 * A probing load balancer ({@code provider: health-probe}) that is an HAProxy, asked through its
 * runtime API on TCP ({@code stats socket ipv4@<addr>:<port> level user}) on every replica that
 * {@code traffic.controller} names. {@code show servers state} is allowed at level user and lists
 * every server of every backend with its address, operational state, administrative state and
 * weight (level user hides the addresses in {@code show stat}, so that command is no use here).
 *
 * <p>The app's pods are found by address in every backend, whatever the backend is called and
 * however its servers got there (static lines, {@code server-template} filled from DNS, or the
 * runtime API). A server routes new requests when it is running or starting, in no maintenance or
 * drain mode, with a weight above 0. A server with the pod's address in any other state (DOWN after
 * failed health checks, MAINT, DRAIN, soft-stopping, weight 0) gets no new request and shows that
 * the balancer knows the app's backend by its pods' addresses: it counts as fenced. An address in
 * no backend is not routed, which means something only once the replica was seen listing the app's
 * pods (see {@link ReplicaAnswer}).
 *
 * <p>One command per connection, a connect and read time limit, a size cap, and messages in our
 * own words: nothing the remote process sent is repeated.
 */
@Singleton
public class HaproxyVerifier extends FrontEndVerifier {

    static final String COMMAND = "show servers state\n";
    /** The format of {@code show servers state} this parser reads (HAProxy 1.6 to 3.x print 1). */
    static final String FORMAT_VERSION = "1";
    /** Server lines read from one answer: a line is ~150 bytes, so the 8 MiB cap holds ~55,000. */
    static final int MAX_LINES = 100_000;
    /** Addresses of the app named in a message, per replica, beyond which it says "and N more". */
    static final int NAMED = 6;

    // HAProxy's enum srv_state (include/haproxy/server-t.h).
    static final int OP_STOPPED = 0;
    static final int OP_STARTING = 1;
    static final int OP_RUNNING = 2;
    static final int OP_STOPPING = 3;
    // HAProxy's enum srv_admin: forced, inherited, configured maintenance; resolution failure; forced and inherited drain.
    static final int ADMIN_MAINT = 0x01 | 0x02 | 0x04 | 0x20;
    static final int ADMIN_DRAIN = 0x08 | 0x10;

    private final Duration timeout;
    private final int maxBytes;
    private final ExecutorService sockets;

    @Inject
    public HaproxyVerifier(KubernetesClient client, IngressConfig config, IngressPolicy policy) {
        this(client, config.requestTimeout(), config.maxResponseBytes(), policy);
    }

    HaproxyVerifier(KubernetesClient client, Duration timeout, int maxBytes, IngressPolicy policy) {
        super(Provider.HEALTH_PROBE, "HAProxy", new FrontEndApi(client, timeout, maxBytes, policy));
        this.timeout = timeout;
        this.maxBytes = maxBytes;
        // The runtime API is plain blocking TCP: each question has a thread, for at most twice the timeout.
        this.sockets = Executors.newCachedThreadPool(daemon("zdt-haproxy-ask"));
    }

    private static java.util.concurrent.ThreadFactory daemon(String name) {
        return r -> {
            Thread t = new Thread(r, name);
            t.setDaemon(true);
            return t;
        };
    }

    @Override
    @PreDestroy
    void stop() {
        super.stop();
        sockets.shutdownNow();
    }

    /** HAProxy's runtime API lists every server of every backend; the hints narrow nothing. */
    @Override
    CompletableFuture<ReplicaAnswer> ask(ControllerReplicas.Replica replica, Set<String> addresses, Hints hints) {
        // In one of the few answer slots, as Traefik's and Envoy's answers: 8 MiB each at most.
        return FrontEndApi.oneOfFewAnswers(() -> CompletableFuture.supplyAsync(() -> {
            byte[] answer;
            try {
                answer = fetch(replica.baseUrl());
            } catch (IOException e) {
                return ReplicaAnswer.failed(replica.name(), "HAProxy replica " + replica.name() + " "
                        + api.describe(e));
            }
            List<Server> servers;
            try {
                servers = parse(new String(answer, StandardCharsets.UTF_8));
            } catch (IOException e) {
                return ReplicaAnswer.failed(replica.name(), "HAProxy replica " + replica.name()
                        + " sent something that is not HAProxy's server state (" + e.getMessage() + ")");
            }
            return answer(replica.name(), servers, addresses);
        }, sockets));
    }

    /** Sends the command and reads until the runtime API closes the connection, within the limits. */
    byte[] fetch(String baseUrl) throws IOException {
        URI uri = URI.create(baseUrl);
        long deadline = System.nanoTime() + timeout.toNanos() * 2;
        try (Socket socket = new Socket()) {
            try {
                socket.connect(new InetSocketAddress(uri.getHost(), uri.getPort()), (int) timeout.toMillis());
            } catch (SocketTimeoutException e) {
                throw new HttpConnectTimeoutException("connect");
            }
            socket.setSoTimeout((int) timeout.toMillis());
            socket.getOutputStream().write(COMMAND.getBytes(StandardCharsets.US_ASCII));
            socket.getOutputStream().flush();
            InputStream in = socket.getInputStream();
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            byte[] buf = new byte[16384];
            int n;
            while ((n = in.read(buf)) >= 0) {
                if (out.size() + n > maxBytes) {
                    throw new CappedBody.TooLarge();
                }
                out.write(buf, 0, n);
                // The socket timeout bounds each read; this bounds an answer that trickles.
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    throw new SocketTimeoutException("answer");
                }
                socket.setSoTimeout((int) Math.max(1, Math.min(timeout.toMillis(), left / 1_000_000)));
            }
            return out.toByteArray();
        }
    }

    /** One line of {@code show servers state}: what decides whether the balancer sends new requests to it. */
    record Server(String backend, String name, String address, int opState, int adminState, int userWeight) {

        boolean routes() {
            return (opState == OP_RUNNING || opState == OP_STARTING) && (adminState & (ADMIN_MAINT | ADMIN_DRAIN)) == 0
                    && userWeight > 0;
        }

        /** The state in HAProxy's own words, for messages. */
        String state() {
            List<String> words = new ArrayList<>();
            words.add(switch (opState) {
                case OP_STOPPED -> "DOWN";
                case OP_STARTING -> "STARTING";
                case OP_RUNNING -> "UP";
                case OP_STOPPING -> "NOLB";
                default -> "state " + opState;
            });
            if ((adminState & ADMIN_MAINT) != 0) {
                words.add("MAINT");
            }
            if ((adminState & ADMIN_DRAIN) != 0) {
                words.add("DRAIN");
            }
            if (userWeight <= 0) {
                words.add("weight 0");
            }
            return String.join(" ", words);
        }
    }

    /**
     * Reads {@code show servers state}: a format version line, a {@code #} header naming the
     * columns, one line per server, space separated. Columns are found by their header names.
     *
     * @throws IOException with a message of our own when the text is not that
     */
    static List<Server> parse(String text) throws IOException {
        // Counted before the split: 8 MiB of "a\n" would be four million strings.
        long count = text.chars().filter(c -> c == '\n').count();
        if (count > MAX_LINES) {
            throw new IOException("more than " + MAX_LINES + " lines");
        }
        String[] lines = text.split("\n", -1);
        if (lines.length < 2 || !lines[0].trim().equals(FORMAT_VERSION)) {
            throw new IOException("no format version " + FORMAT_VERSION + " on the first line");
        }
        String header = lines[1].trim();
        if (!header.startsWith("#")) {
            throw new IOException("no column header on the second line");
        }
        String[] names = header.substring(1).trim().split("\\s+");
        Map<String, Integer> column = new HashMap<>();
        for (int i = 0; i < names.length; i++) {
            column.put(names[i], i);
        }
        int be = need(column, "be_name");
        int srv = need(column, "srv_name");
        int addr = need(column, "srv_addr");
        int op = need(column, "srv_op_state");
        int admin = need(column, "srv_admin_state");
        int weight = need(column, "srv_uweight");
        List<Server> out = new ArrayList<>();
        for (int i = 2; i < lines.length; i++) {
            String line = lines[i].trim();
            if (line.isEmpty()) {
                continue;
            }
            String[] f = line.split("\\s+");
            if (f.length < names.length) {
                throw new IOException("a server line with " + f.length + " of " + names.length + " columns");
            }
            try {
                out.add(new Server(f[be], f[srv], f[addr], Integer.parseInt(f[op]), Integer.parseInt(f[admin]),
                        Integer.parseInt(f[weight])));
            } catch (NumberFormatException e) {
                throw new IOException("a server line whose state or weight is not a number");
            }
        }
        return out;
    }

    private static int need(Map<String, Integer> column, String name) throws IOException {
        Integer i = column.get(name);
        if (i == null) {
            throw new IOException("no column " + name);
        }
        return i;
    }

    /** Which of the addresses the replica routes to, which it lists without routing, and what it had. */
    static ReplicaAnswer answer(String replica, List<Server> servers, Set<String> addresses) {
        Map<String, Set<String>> routes = new TreeMap<>();
        Set<String> fenced = new TreeSet<>();
        Set<String> backends = new TreeSet<>();
        List<String> listed = new ArrayList<>();
        for (Server s : servers) {
            backends.add(s.backend());
            if (!addresses.contains(s.address())) {
                continue;
            }
            listed.add(s.address() + " " + s.backend() + "/" + s.name() + " " + s.state());
            if (s.routes()) {
                routes.computeIfAbsent(s.address(), a -> new TreeSet<>()).add(s.backend() + "/" + s.name());
            } else {
                fenced.add(s.address());
            }
        }
        // An address both routed by one server and not by another is routed.
        fenced.removeAll(routes.keySet());
        StringBuilder detail = new StringBuilder("looked for ")
                .append(addresses.isEmpty() ? "no address" : String.join(", ", new TreeSet<>(addresses)))
                .append(" among the servers of every backend; found ").append(servers.size()).append(" servers in ")
                .append(backends.size()).append(" backends");
        if (listed.isEmpty()) {
            detail.append(", none at those addresses");
        } else {
            listed.sort(null);
            detail.append(", at those addresses: ").append(String.join(", ", listed.subList(0, Math.min(NAMED, listed.size()))));
            if (listed.size() > NAMED) {
                detail.append(" and ").append(listed.size() - NAMED).append(" more");
            }
        }
        return new ReplicaAnswer(replica, true, routes, detail.toString(), fenced);
    }
}
