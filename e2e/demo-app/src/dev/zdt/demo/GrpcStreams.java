package dev.zdt.demo;

import java.io.IOException;
import java.lang.reflect.InvocationTargetException;
import java.util.function.BiConsumer;

/**
 * The gRPC server stream ({@code GRPC_PORT}), served when the app runs with e2e/grpc-stream on its
 * class path, as in the demo app's image. The demo app's own build stays JDK-only, so the server is
 * found by name at start: {@link #IMPLEMENTATION} implements this interface.
 */
interface GrpcStreams {

    String IMPLEMENTATION = "dev.zdt.demo.GrpcStreamServer";

    /** The port it listens on (the chosen one when GRPC_PORT is 0). */
    int port();

    /**
     * After the drain: waits until every call has ended and every connection is closed, at most until
     * the deadline, then cuts what is left.
     *
     * @return true when everything ended before the deadline
     */
    boolean awaitTermination(long deadlineNanos);

    /** Fails at start, with what to do, when GRPC_PORT asks for a server that is not there. */
    static void checkPresent(int port) {
        try {
            Class.forName(IMPLEMENTATION, false, GrpcStreams.class.getClassLoader());
        } catch (ClassNotFoundException | LinkageError e) {
            throw new IllegalArgumentException("GRPC_PORT=" + port + " needs the gRPC module on the class path: build it"
                    + " with e2e/grpc-stream/build.sh and run java -cp 'demo-app.jar:e2e/grpc-stream/target/grpc/*'"
                    + " dev.zdt.demo.DemoApp (the image does), or unset GRPC_PORT (" + e + ")");
        }
    }

    /** Starts the server on the hub's streams: its drain is the hub's drain. */
    static GrpcStreams start(StreamHub hub, String bindAddress, int port, BiConsumer<String, String> log)
            throws IOException {
        try {
            return (GrpcStreams) Class.forName(IMPLEMENTATION)
                    .getDeclaredMethod("start", StreamHub.class, String.class, int.class, BiConsumer.class)
                    .invoke(null, hub, bindAddress, port, log);
        } catch (InvocationTargetException e) {
            if (e.getCause() instanceof IOException) {
                throw (IOException) e.getCause();
            }
            throw new IllegalStateException("the gRPC server did not start: " + e.getCause(), e.getCause());
        } catch (ReflectiveOperationException e) {
            throw new IllegalStateException("the gRPC module on the class path does not fit this demo app: " + e, e);
        }
    }
}
