package dev.zdt.operator.gate;

import java.util.concurrent.CompletionStage;

import jakarta.ws.rs.GET;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.core.MediaType;
import jakarta.ws.rs.core.Response;

import org.jboss.resteasy.reactive.RestPath;

import dev.zdt.operator.Constants;
import io.smallrye.mutiny.Uni;
import io.vertx.core.Context;
import io.vertx.core.Vertx;

/**
 * The drain gate's HTTP face, called by the kubelet as a pod's preStop hook. A held call is a
 * pending Uni on the event loop, not a thread. 200 means "send SIGTERM now" (verified, or the hold
 * bound expired); 404, 409, 429 and 503 answer at once, or after at most zdt.gate.claim-wait.
 */
@Path(Constants.GATE_PATH)
@Produces(MediaType.TEXT_PLAIN)
public class GateResource {

    private final DrainGate gate;

    public GateResource(DrainGate gate) {
        this.gate = gate;
    }

    /** Gate mode: the httpGet hook cannot name its pod, so the gate attributes the call. */
    @GET
    @Path("{namespace}/{app}")
    public Uni<Response> app(@RestPath String namespace, @RestPath String app) {
        return answer(gate.hold(namespace, app, null));
    }

    /** Exec mode: the hook's shell names its pod ($HOSTNAME). */
    @GET
    @Path("{namespace}/{app}/{pod}")
    public Uni<Response> pod(@RestPath String namespace, @RestPath String app, @RestPath String pod) {
        return answer(gate.hold(namespace, app, pod));
    }

    private static Uni<Response> answer(CompletionStage<GateAnswer> held) {
        // Resume on the connection's own event loop: a burst of releases then costs the gate's
        // thread one task per call instead of a cross-thread socket write.
        Context context = Vertx.currentContext();
        Uni<GateAnswer> answer = Uni.createFrom().completionStage(held);
        if (context != null) {
            answer = answer.emitOn(task -> context.runOnContext(ignored -> task.run()));
        }
        return answer.map(a -> Response.status(a.status()).entity(a.text()).type(MediaType.TEXT_PLAIN)
                .header("X-Zdt-Decided-At", a.decidedAt().toString()).build());
    }
}
