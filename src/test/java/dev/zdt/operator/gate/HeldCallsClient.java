package dev.zdt.operator.gate;

import java.io.BufferedWriter;
import java.io.IOException;
import java.io.OutputStreamWriter;
import java.net.InetSocketAddress;
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;

/**
 * The benchmark's kubelets: one process (a JVM of its own, JDK only) that sends N gate calls, one
 * connection each, and keeps them open until answered. One thread and one NIO selector, so the
 * client adds no thread per call and little CPU to the machine it shares with the gate.
 *
 * <p>{@code java -cp target/test-classes dev.zdt.operator.gate.HeldCallsClient HOST PORT PATHS_FILE}
 * (one request path a line). Prints to stdout, one line each:
 * <ul>
 * <li>{@code S n}: all n requests are written;
 * <li>{@code A i status arrivedMicros decidedAt body}: call i (0-based, the line in PATHS_FILE) was
 * answered; {@code arrivedMicros} is the wall clock (microseconds since the epoch) when the last
 * byte of the answer was read, {@code decidedAt} the gate's {@code X-Zdt-Decided-At} header or -;
 * <li>{@code E i reason}: call i ended without an answer.
 * </ul>
 * Exits once every call is answered or failed.
 */
public final class HeldCallsClient {

    private static final class Call {
        final int index;
        final ByteBuffer request;
        ByteBuffer in = ByteBuffer.allocate(1024);

        Call(int index, ByteBuffer request) {
            this.index = index;
            this.request = request;
        }
    }

    public static void main(String[] args) throws IOException {
        String host = args[0];
        int port = Integer.parseInt(args[1]);
        List<String> paths = Files.readAllLines(Path.of(args[2]));
        InetSocketAddress address = new InetSocketAddress(host, port);
        BufferedWriter out = new BufferedWriter(new OutputStreamWriter(System.out, StandardCharsets.UTF_8), 1 << 16);
        int open = paths.size();
        int unsent = paths.size();
        try (Selector selector = Selector.open()) {
            for (int i = 0; i < paths.size(); i++) {
                // What a kubelet sends for an httpGet hook.
                String request = "GET " + paths.get(i) + " HTTP/1.1\r\nHost: " + host + ":" + port
                        + "\r\nUser-Agent: kube-lifecycle/1.34\r\nAccept: */*\r\n\r\n";
                SocketChannel channel = SocketChannel.open();
                channel.configureBlocking(false);
                channel.setOption(StandardSocketOptions.TCP_NODELAY, true);
                Call call = new Call(i, ByteBuffer.wrap(request.getBytes(StandardCharsets.US_ASCII)));
                if (channel.connect(address)) {
                    channel.register(selector, SelectionKey.OP_WRITE, call);
                } else {
                    channel.register(selector, SelectionKey.OP_CONNECT, call);
                }
            }
            while (open > 0) {
                selector.select();
                Iterator<SelectionKey> keys = selector.selectedKeys().iterator();
                while (keys.hasNext()) {
                    SelectionKey key = keys.next();
                    keys.remove();
                    Call call = (Call) key.attachment();
                    SocketChannel channel = (SocketChannel) key.channel();
                    try {
                        if (key.isConnectable()) {
                            channel.finishConnect();
                            key.interestOps(SelectionKey.OP_WRITE);
                        }
                        if (key.isValid() && key.isWritable()) {
                            channel.write(call.request);
                            if (!call.request.hasRemaining()) {
                                key.interestOps(SelectionKey.OP_READ);
                                if (--unsent == 0) {
                                    out.write("S " + paths.size() + "\n");
                                }
                            }
                        }
                        if (key.isValid() && key.isReadable()) {
                            if (!call.in.hasRemaining()) {
                                call.in = ByteBuffer.allocate(call.in.capacity() * 2).put(call.in.flip());
                            }
                            int read = channel.read(call.in);
                            Instant now = Instant.now();
                            String answer = complete(call.in);
                            if (answer != null) {
                                out.write("A " + call.index + " " + answer.replace("\u0000", String.valueOf(micros(now))) + "\n");
                                key.cancel();
                                channel.close();
                                open--;
                            } else if (read < 0) {
                                throw new IOException("connection closed before a complete answer");
                            }
                        }
                    } catch (IOException e) {
                        out.write("E " + call.index + " " + String.valueOf(e).replace('\n', ' ') + "\n");
                        key.cancel();
                        channel.close();
                        open--;
                    }
                }
                // One write to the pipe per selector round, not one per answer.
                out.flush();
            }
        }
        out.flush();
    }

    /** "status \0 decidedAt body" once the buffer holds a whole answer (\0 stands for the arrival time), else null. */
    static String complete(ByteBuffer buffer) {
        String text = new String(buffer.array(), 0, buffer.position(), StandardCharsets.ISO_8859_1);
        int end = text.indexOf("\r\n\r\n");
        if (end < 0) {
            return null;
        }
        String[] lines = text.substring(0, end).split("\r\n");
        int length = 0;
        boolean chunked = false;
        String decided = "-";
        for (String line : lines) {
            int colon = line.indexOf(':');
            if (colon < 0) {
                continue;
            }
            String name = line.substring(0, colon).trim().toLowerCase(Locale.ROOT);
            String value = line.substring(colon + 1).trim();
            if (name.equals("content-length")) {
                length = Integer.parseInt(value);
            } else if (name.equals("transfer-encoding")) {
                chunked = value.toLowerCase(Locale.ROOT).contains("chunked");
            } else if (name.equals("x-zdt-decided-at")) {
                decided = value;
            }
        }
        if (chunked) {
            // The last chunk ends the answer; the body is then shown with its chunk sizes, which is enough to read.
            if (!text.endsWith("\r\n0\r\n\r\n")) {
                return null;
            }
            length = text.length() - end - 4;
        } else if (text.length() < end + 4 + length) {
            return null;
        }
        String status = lines[0].split(" ")[1];
        String body = text.substring(end + 4, end + 4 + length).replace('\r', ' ').replace('\n', ' ').trim();
        return status + " \u0000 " + decided + " " + body;
    }

    private static long micros(Instant t) {
        return t.getEpochSecond() * 1_000_000L + t.getNano() / 1_000;
    }
}
