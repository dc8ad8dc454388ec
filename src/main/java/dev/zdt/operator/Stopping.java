package dev.zdt.operator;

import java.util.concurrent.atomic.AtomicBoolean;

/**
 * Whether this JVM has begun to stop. Set by a JVM shutdown hook, which runs as soon as SIGTERM
 * arrives: before Quarkus's graceful wait for the gate calls this replica still holds, and so
 * before any ShutdownEvent observer. Parts that must change behaviour for the whole of that wait
 * (warm-in admits no pod, a lease given up is not an error) ask here.
 */
public final class Stopping {

    private static final AtomicBoolean STOPPING = new AtomicBoolean();

    static {
        try {
            Runtime.getRuntime().addShutdownHook(new Thread(() -> STOPPING.set(true), "zdt-stopping"));
        } catch (IllegalStateException shutdownInProgress) {
            // First asked during the shutdown itself: that is an answer too.
            STOPPING.set(true);
        }
    }

    private Stopping() {
    }

    public static boolean now() {
        return STOPPING.get();
    }
}
