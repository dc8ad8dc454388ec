package dev.zdt.operator.gate;

import java.util.Optional;
import java.util.concurrent.CompletionStage;

import jakarta.ws.rs.GET;
import jakarta.ws.rs.HeaderParam;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.core.MediaType;

import org.jboss.resteasy.reactive.RestPath;
import org.jboss.resteasy.reactive.RestResponse;

import dev.zdt.operator.Constants;
import io.smallrye.mutiny.Uni;
import io.vertx.core.Context;
import io.vertx.core.Vertx;

/**
 * The drain gate's HTTP face, called by the kubelet as a pod's preStop hook. A held call is a
 * pending Uni on the event loop, not a thread. 200 means "send SIGTERM now" (verified, or the hold
 * bound expired); 400, 401, 404, 409, 429 and 503 answer at once, or after at most zdt.gate.claim-wait.
 * Only the path names what is held, and the app's token ({@code Authorization: Bearer}, see
 * {@link GateKeys}) is checked before anything is held: a call without it is answered 401 at once,
 * the same for an app that does not exist, so the answer tells a stranger nothing.
 */
@Path(Constants.GATE_PATH)
@Produces(MediaType.TEXT_PLAIN)
public class GateResource {

    /** Seconds a refused caller (429, 503) is told to wait before calling again. */
    static final String RETRY_AFTER_SECONDS = "1";

    private final DrainGate gate;

    public GateResource(DrainGate gate) {
        this.gate = gate;
    }

    /** httpGet mode (opt-in): the kubelet's hook cannot name its pod, so the gate attributes the call. */
    @GET
    @Path("{namespace}/{app}")
    public Uni<RestResponse<String>> app(@RestPath String namespace, @RestPath String app,
            @HeaderParam("Authorization") String authorization) {
        return checked(namespace, app, null, authorization);
    }

    /** Gate mode's drain helper and exec mode's script name their pod. */
    @GET
    @Path("{namespace}/{app}/{pod}")
    public Uni<RestResponse<String>> pod(@RestPath String namespace, @RestPath String app, @RestPath String pod,
            @HeaderParam("Authorization") String authorization) {
        return checked(namespace, app, pod, authorization);
    }

    /** Any other path under the gate: extra or empty segments. */
    @GET
    @Path("{rest:.*}")
    public RestResponse<String> other(@RestPath String rest) {
        return text(404, "not a gate path: /gate/v1/" + GatePath.echo(rest) + "; " + GatePath.USAGE + "\n");
    }

    private Uni<RestResponse<String>> checked(String namespace, String app, String pod, String authorization) {
        Optional<String> problem = GatePath.problem(namespace, app, pod);
        if (problem.isPresent()) {
            return Uni.createFrom().item(text(400, problem.get() + "\n"));
        }
        Optional<String> refused = gate.refuse(namespace, app, bearer(authorization));
        if (refused.isPresent()) {
            return Uni.createFrom().item(text(401, refused.get() + "\n"));
        }
        return answer(gate.hold(namespace, app, pod));
    }

    /** The token of {@code Authorization: Bearer <token>}, or null. */
    static String bearer(String authorization) {
        if (authorization == null || !authorization.regionMatches(true, 0, "Bearer ", 0, 7)) {
            return null;
        }
        String token = authorization.substring(7).trim();
        return token.isEmpty() ? null : token;
    }

    private static Uni<RestResponse<String>> answer(CompletionStage<GateAnswer> held) {
        // Resume on the connection's own event loop: a burst of releases then costs the gate's
        // thread one task per call instead of a cross-thread socket write.
        Context context = Vertx.currentContext();
        Uni<GateAnswer> answer = Uni.createFrom().completionStage(held);
        if (context != null) {
            answer = answer.emitOn(task -> context.runOnContext(ignored -> task.run()));
        }
        // RestResponse<String> rather than Response: the writer for the entity is chosen once, at
        // build time, instead of being looked up for every answer, a cost a burst of releases pays per call.
        return answer.map(a -> {
            RestResponse.ResponseBuilder<String> r = RestResponse.ResponseBuilder.<String>create(a.status())
                    .entity(a.text()).type(MediaType.TEXT_PLAIN_TYPE)
                    .header("X-Zdt-Decided-At", a.decidedAt().toString());
            if (a.status() == 429 || a.status() == 503) {
                r.header("Retry-After", RETRY_AFTER_SECONDS);
            }
            return r.build();
        });
    }

    private static RestResponse<String> text(int status, String text) {
        return RestResponse.ResponseBuilder.<String>create(status).entity(text).type(MediaType.TEXT_PLAIN_TYPE).build();
    }
}
