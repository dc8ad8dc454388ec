package dev.zdt.demo;

import java.io.IOException;
import java.util.concurrent.TimeUnit;

/**
 * What the SSE and WebSocket streams share: a thread of their own that sends a hello, then message
 * {@code from}, {@code from+1}, ... one per interval, until the drain signal (goodbye, then close),
 * the client's leaving, or an error. One thread per stream: a client that stops reading blocks only
 * its own stream's writes, never the others'.
 */
abstract class TickingStream implements StreamHub.Stream, Runnable {

    final StreamHub hub;
    final long id;
    final long from;
    final long intervalNanos;
    final long openNanos = System.nanoTime();
    private final Object lock = new Object();
    private String endReason;          // set by end(), under lock
    volatile String outcome;           // set by the reader (WebSocket) when the client closed or broke the protocol
    long sent;
    long lastSeq;

    TickingStream(StreamHub hub, long from, long intervalMs) {
        this.hub = hub;
        this.id = hub.nextId();
        this.from = from;
        this.lastSeq = from - 1;
        this.intervalNanos = TimeUnit.MILLISECONDS.toNanos(intervalMs);
    }

    @Override
    public long id() {
        return id;
    }

    @Override
    public void end(String reason) {
        synchronized (lock) {
            if (endReason == null) {
                endReason = reason;
            }
            lock.notifyAll();
        }
    }

    /** Stops the loop without a goodbye (the reader saw the client close, or an error). */
    void stopLoop(String how) {
        if (outcome == null) {
            outcome = how;
        }
        end(null);
    }

    abstract void sendHello() throws IOException;

    abstract void sendMessage(long seq) throws IOException;

    /** Says goodbye and closes; returns the outcome ("drain" when the goodbye went out). */
    abstract String goodbye(String reason) throws IOException;

    /** Releases the connection, whatever state it is in. */
    abstract void release();

    @Override
    public void run() {
        String how = "error";
        try {
            sendHello();
            long next = System.nanoTime() + intervalNanos;
            long seq = from;
            while (true) {
                String reason;
                synchronized (lock) {
                    long wait;
                    while (endReason == null && outcome == null && (wait = next - System.nanoTime()) > 0) {
                        TimeUnit.NANOSECONDS.timedWait(lock, wait);
                    }
                    reason = endReason;
                }
                if (outcome != null) {
                    how = outcome;
                    break;
                }
                if (reason != null) {
                    how = goodbye(reason);
                    break;
                }
                sendMessage(seq);
                lastSeq = seq;
                sent++;
                hub.messagesSent.incrementAndGet();
                seq++;
                next += intervalNanos;
                long now = System.nanoTime();
                if (next < now - intervalNanos) {
                    next = now; // a slow client: no burst of messages to catch up
                }
            }
        } catch (IOException e) {
            // A write failed: the client went away (or the reader already said why).
            how = outcome != null ? outcome : "client";
        } catch (InterruptedException e) {
            how = "aborted";
        } catch (RuntimeException e) {
            how = "error";
        } finally {
            release();
            hub.closed(this, how, sent, lastSeq, openNanos);
        }
    }
}
