package dev.zdt.grpcstream;

import io.grpc.CallOptions;
import io.grpc.ClientCall;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.Status;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;

import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Checks the demo app's gRPC port from outside, for e2e/grpc-stream/test.sh: what a well-behaved
 * client sees, and what the port does with clients that are not. Prints one line; exit 0 when the
 * check holds, 1 when it does not (the line says what came instead), 2 for bad arguments.
 *
 * <pre>
 * probe PORT stream N            hello, then N numbered messages from 7 in order, then cancel
 * probe PORT status REQUEST      the status of a call with this request text (e.g. from=x)
 * probe PORT goodbye             waits for the drain's goodbye: UNAVAILABLE with the zdt-end trailer
 * probe PORT huge BYTES          a request of BYTES bytes: refused with RESOURCE_EXHAUSTED
 * probe PORT bighead BYTES       a request header of BYTES bytes: the call fails, the port stays up
 * probe PORT unknown             a method the server does not have: UNIMPLEMENTED
 * probe PORT many N              N calls at once: how many opened, how many were refused and why
 * probe PORT stuck SECONDS        a stream whose client reads nothing (1 KiB window, no message asked for), kept SECONDS
 * probe PORT garbage             64 KiB of random bytes instead of HTTP/2: the server closes the connection
 * probe PORT silent N SECONDS    N connections that send nothing: how many the server closed within SECONDS
 * </pre>
 */
public final class Probe {

    static final Pattern SEQ = Pattern.compile("\"seq\":(\\d+)");

    public static void main(String[] args) throws Exception {
        if (args.length < 2) {
            System.err.println("usage: probe PORT stream|status|goodbye|huge|bighead|unknown|many|garbage|silent [ARG...]");
            System.exit(2);
        }
        int port = Integer.parseInt(args[0]);
        String what = args[1];
        boolean ok;
        switch (what) {
            case "stream" -> ok = stream(port, Integer.parseInt(args[2]));
            case "status" -> ok = status(port, Ticks.METHOD, args[2], new Metadata()) != null;
            case "goodbye" -> ok = goodbye(port);
            case "huge" -> ok = "RESOURCE_EXHAUSTED".equals(status(port, Ticks.METHOD, "x".repeat(Integer.parseInt(args[2])),
                    new Metadata()));
            case "bighead" -> {
                Metadata m = new Metadata();
                m.put(Metadata.Key.of("x-big", Metadata.ASCII_STRING_MARSHALLER), "x".repeat(Integer.parseInt(args[2])));
                String code = status(port, Ticks.METHOD, "from=1", m);
                ok = code != null && !code.equals("OK");
            }
            case "unknown" -> {
                MethodDescriptor<String, String> nope = Ticks.METHOD.toBuilder()
                        .setFullMethodName(MethodDescriptor.generateFullMethodName(Ticks.SERVICE, "Nope")).build();
                ok = "UNIMPLEMENTED".equals(status(port, nope, "", new Metadata()));
            }
            case "many" -> ok = many(port, Integer.parseInt(args[2]));
            case "stuck" -> ok = stuck(port, Integer.parseInt(args[2]));
            case "garbage" -> ok = garbage(port);
            case "silent" -> ok = silent(port, Integer.parseInt(args[2]), Integer.parseInt(args[3]));
            default -> {
                System.err.println("unknown check " + what);
                System.exit(2);
                return;
            }
        }
        System.exit(ok ? 0 : 1);
    }

    static ManagedChannel channel(int port) {
        return NettyChannelBuilder.forAddress("127.0.0.1", port).usePlaintext().disableRetry()
                .maxInboundMessageSize(64 * 1024).build();
    }

    /** A call whose messages and end land in a queue: "m:<text>", then "end:<CODE>\t<description>\t<zdt-end trailer>". */
    static ClientCall<String, String> start(ManagedChannel ch, MethodDescriptor<String, String> method, String request,
            Metadata headers, LinkedBlockingQueue<String> events) {
        ClientCall<String, String> call = ch.newCall(method, CallOptions.DEFAULT);
        call.start(new ClientCall.Listener<>() {
            @Override
            public void onMessage(String m) {
                events.add("m:" + m);
                call.request(1);
            }

            @Override
            public void onClose(Status s, Metadata trailers) {
                events.add("end:" + s.getCode() + "\t" + s.getDescription() + "\t" + trailers.get(Ticks.END));
            }
        }, headers);
        call.sendMessage(request);
        call.halfClose();
        call.request(1);
        return call;
    }

    static boolean stream(int port, int n) throws InterruptedException {
        ManagedChannel ch = channel(port);
        try {
            LinkedBlockingQueue<String> ev = new LinkedBlockingQueue<>();
            ClientCall<String, String> call = start(ch, Ticks.METHOD, "from=7&intervalMs=20", new Metadata(), ev);
            String hello = ev.poll(5, TimeUnit.SECONDS);
            if (hello == null || !hello.startsWith("m:{\"hello\":true,\"kind\":\"grpc\"")) {
                System.out.println("no hello: " + hello);
                return false;
            }
            for (int i = 0; i < n; i++) {
                String m = ev.poll(5, TimeUnit.SECONDS);
                Matcher sm = SEQ.matcher(m == null ? "" : m);
                if (!sm.find() || Long.parseLong(sm.group(1)) != 7 + i) {
                    System.out.println("expected seq " + (7 + i) + ", got " + m);
                    return false;
                }
            }
            call.cancel("done", null);
            System.out.println("ok: " + hello.substring(2) + " then seq 7.." + (6 + n));
            return true;
        } finally {
            ch.shutdownNow();
        }
    }

    /** Prints the call's status; returns its code, or null when no status came within 10 s. */
    static String status(int port, MethodDescriptor<String, String> method, String request, Metadata headers)
            throws InterruptedException {
        ManagedChannel ch = channel(port);
        try {
            LinkedBlockingQueue<String> ev = new LinkedBlockingQueue<>();
            ClientCall<String, String> call = start(ch, method, request, headers, ev);
            long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            String e;
            while ((e = ev.poll(Math.max(1, end - System.nanoTime()), TimeUnit.NANOSECONDS)) != null) {
                if (e.startsWith("end:")) {
                    String[] f = e.substring(4).split("\t", 3);
                    System.out.println(f[0] + ": " + f[1]);
                    return f[0];
                }
            }
            call.cancel("no status", null);
            System.out.println("no status within 10 s");
            return null;
        } finally {
            ch.shutdownNow();
        }
    }

    static boolean goodbye(int port) throws InterruptedException {
        ManagedChannel ch = channel(port);
        try {
            LinkedBlockingQueue<String> ev = new LinkedBlockingQueue<>();
            start(ch, Ticks.METHOD, "from=1&intervalMs=20", new Metadata(), ev);
            long last = 0;
            String e;
            while ((e = ev.poll(60, TimeUnit.SECONDS)) != null) {
                if (e.startsWith("m:{\"hello\":true")) {
                    System.err.println("open"); // the test waits for this before it sends the drain signal
                }
                Matcher sm = SEQ.matcher(e);
                if (e.startsWith("m:") && sm.find()) {
                    last = Long.parseLong(sm.group(1));
                } else if (e.startsWith("end:")) {
                    String[] f = e.substring(4).split("\t", 3);
                    System.out.println(f[0] + ": " + f[1] + "; trailer " + f[2] + " after seq " + last);
                    String goodbye = "{\"end\":true,\"reason\":\"draining\",\"lastSeq\":" + last + ",";
                    return f[0].equals("UNAVAILABLE") && f[2].startsWith(goodbye);
                }
            }
            System.out.println("no end within 60 s");
            return false;
        } finally {
            ch.shutdownNow();
        }
    }

    static boolean many(int port, int n) throws InterruptedException {
        // A connection each: the server's per-connection limit would otherwise queue them in this client.
        List<ManagedChannel> channels = new ArrayList<>();
        try {
            List<LinkedBlockingQueue<String>> evs = new ArrayList<>();
            for (int i = 0; i < n; i++) {
                LinkedBlockingQueue<String> ev = new LinkedBlockingQueue<>();
                evs.add(ev);
                ManagedChannel ch = channel(port);
                channels.add(ch);
                start(ch, Ticks.METHOD, "from=1&intervalMs=1000", new Metadata(), ev);
            }
            int open = 0;
            java.util.Map<String, Integer> refused = new java.util.TreeMap<>();
            for (LinkedBlockingQueue<String> ev : evs) {
                String e = ev.poll(5, TimeUnit.SECONDS);
                if (e != null && e.startsWith("m:")) {
                    open++;
                } else {
                    String[] f = e == null ? new String[] {"none", ""} : e.substring(4).split("\t", 3);
                    refused.merge(f[0] + " " + f[1], 1, Integer::sum);
                }
            }
            System.out.println("open=" + open + " refused=" + refused);
            return true;
        } finally {
            for (ManagedChannel ch : channels) {
                ch.shutdownNow();
            }
        }
    }

    static boolean stuck(int port, int seconds) throws InterruptedException {
        // The smallest window HTTP/2 allows and no request(n): the server's sends stop at its
        // ready threshold, and its goodbye can only queue behind them.
        ManagedChannel ch = NettyChannelBuilder.forAddress("127.0.0.1", port).usePlaintext().disableRetry()
                .flowControlWindow(1024).build();
        try {
            ClientCall<String, String> call = ch.newCall(Ticks.METHOD, CallOptions.DEFAULT);
            CountDownLatch headers = new CountDownLatch(1);
            call.start(new ClientCall.Listener<>() {
                @Override
                public void onHeaders(Metadata h) {
                    headers.countDown();
                }
            }, new Metadata());
            call.sendMessage("from=1&intervalMs=10");
            call.halfClose();
            boolean open = headers.await(5, TimeUnit.SECONDS);
            System.err.println(open ? "open" : "no headers");
            Thread.sleep(TimeUnit.SECONDS.toMillis(seconds));
            System.out.println(open ? "held a stream without reading for " + seconds + " s" : "the stream did not open");
            return open;
        } finally {
            ch.shutdownNow();
        }
    }

    static boolean garbage(int port) throws IOException {
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress("127.0.0.1", port), 2000);
            s.setSoTimeout(10_000);
            byte[] junk = new byte[64 * 1024];
            new Random(28).nextBytes(junk);
            long t0 = System.nanoTime();
            try {
                s.getOutputStream().write(junk);
                InputStream in = s.getInputStream();
                while (in.read(new byte[4096]) >= 0) {
                    // what the server says before it closes (a GOAWAY) does not matter
                }
            } catch (SocketTimeoutException e) {
                System.out.println("still open after 10 s");
                return false;
            } catch (IOException e) {
                // reset: closed too
            }
            System.out.println("closed by the server after " + (System.nanoTime() - t0) / 1_000_000 + " ms");
            return true;
        }
    }

    static boolean silent(int port, int n, int seconds) throws Exception {
        List<Socket> sockets = new ArrayList<>();
        CountDownLatch closed = new CountDownLatch(n);
        try {
            for (int i = 0; i < n; i++) {
                Socket s = new Socket();
                s.connect(new InetSocketAddress("127.0.0.1", port), 2000);
                sockets.add(s);
                Thread t = new Thread(() -> {
                    try {
                        while (s.getInputStream().read(new byte[1024]) >= 0) {
                            // the server's settings frame, then its end
                        }
                    } catch (IOException e) {
                        // reset: closed too
                    }
                    closed.countDown();
                });
                t.setDaemon(true);
                t.start();
            }
            closed.await(seconds, TimeUnit.SECONDS);
            long n0 = n - closed.getCount();
            System.out.println(n0 + " of " + n + " silent connections closed by the server within " + seconds + " s");
            return true;
        } finally {
            for (Socket s : sockets) {
                s.close();
            }
        }
    }

    private Probe() {
    }
}
