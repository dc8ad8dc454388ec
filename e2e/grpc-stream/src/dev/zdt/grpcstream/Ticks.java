package dev.zdt.grpcstream;

import io.grpc.Metadata;
import io.grpc.MethodDescriptor;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;

/**
 * The one gRPC method of the demo app, {@code zdt.demo.TickStream/Ticks}, described by hand: no
 * .proto file and no protoc, so the build needs nothing but the gRPC jars.
 *
 * <p>Both directions carry UTF-8 text. The request is the stream's parameters written as the other
 * stream kinds' query, {@code from=N&intervalMs=M} (both optional); each response message is the
 * JSON text the SSE and WebSocket streams send (the hello, then one numbered message per interval).
 * On the drain signal the server ends the call with status UNAVAILABLE and the trailer
 * {@link #END}, whose value is the JSON of the SSE goodbye: that pair, and only it, means "this pod
 * is leaving: reconnect and resume after lastSeq".
 */
public final class Ticks {

    public static final String SERVICE = "zdt.demo.TickStream";

    /** The request is tiny; a server refuses larger ones (RESOURCE_EXHAUSTED) without reading them. */
    public static final int MAX_REQUEST_BYTES = 1024;

    /** The goodbye's trailer: {@code {"end":true,"reason":"draining","lastSeq":N,"pod":"p"}}. */
    public static final Metadata.Key<String> END = Metadata.Key.of("zdt-end", Metadata.ASCII_STRING_MARSHALLER);

    /** UTF-8 text as a gRPC message; its size is bounded by the channel's or server's max inbound message size. */
    public static final MethodDescriptor.Marshaller<String> TEXT = new MethodDescriptor.Marshaller<>() {
        @Override
        public InputStream stream(String value) {
            return new ByteArrayInputStream(value.getBytes(StandardCharsets.UTF_8));
        }

        @Override
        public String parse(InputStream stream) {
            try (stream) {
                return new String(stream.readAllBytes(), StandardCharsets.UTF_8);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
    };

    public static final MethodDescriptor<String, String> METHOD = MethodDescriptor.<String, String>newBuilder()
            .setType(MethodDescriptor.MethodType.SERVER_STREAMING)
            .setFullMethodName(MethodDescriptor.generateFullMethodName(SERVICE, "Ticks"))
            .setRequestMarshaller(TEXT)
            .setResponseMarshaller(TEXT)
            .build();

    private Ticks() {
    }
}
