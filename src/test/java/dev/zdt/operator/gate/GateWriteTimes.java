package dev.zdt.operator.gate;

import java.util.concurrent.ConcurrentLinkedQueue;

import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;

import dev.zdt.operator.Constants;
import io.vertx.ext.web.Router;

/**
 * For the benchmark only ({@code -Dzdt.bench=true}): the wall clock at which the HTTP server has
 * handed each gate answer's last byte to the socket, to tell the gate's share of an answer's
 * delivery from the client's. Not installed otherwise.
 */
@ApplicationScoped
public class GateWriteTimes {

    /** Microseconds since the epoch, one per gate answer written, in the order they were written. */
    static final ConcurrentLinkedQueue<Long> WRITTEN = new ConcurrentLinkedQueue<>();

    void routes(@Observes Router router) {
        if (!Boolean.getBoolean("zdt.bench")) {
            return;
        }
        router.route(Constants.GATE_PATH + "/*").order(-20).handler(ctx -> {
            ctx.addBodyEndHandler(written -> {
                java.time.Instant now = java.time.Instant.now();
                WRITTEN.add(now.getEpochSecond() * 1_000_000L + now.getNano() / 1_000);
            });
            ctx.next();
        });
    }
}
