package dev.zdt.operator.gate;

import java.util.Optional;
import java.util.concurrent.CompletionStage;

import jakarta.ws.rs.GET;
import jakarta.ws.rs.HeaderParam;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.core.Context;
import jakarta.ws.rs.core.MediaType;

import org.jboss.resteasy.reactive.RestPath;
import org.jboss.resteasy.reactive.RestResponse;

import dev.zdt.operator.Constants;
import dev.zdt.operator.kube.BoundedReviews;
import dev.zdt.operator.pod.PodIdentity;
import io.smallrye.mutiny.Uni;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServerRequest;

/**
 * The drain gate's HTTP face, called by the kubelet as a pod's preStop hook. A held call is a
 * pending Uni on the event loop, not a thread. 200 means "send SIGTERM now" (verified, or the hold
 * bound expired); 400, 401, 404, 409, 429 and 503 answer at once, or after at most zdt.gate.claim-wait.
 * Who may hold what is checked before anything is held. A gate- or exec-mode pod sends its own
 * projected ServiceAccount token ({@link PodIdentity}); the gate has it reviewed ({@link PodTokens})
 * and holds only the pod the token was issued for: a call that names another pod or namespace is
 * answered 403. httpGet mode's hook (and pods rendered before pod identity, for
 * zdt.gate.auth.legacy-window) send their app's token ({@link GateKeys}). A call without a valid
 * credential is answered 401 at once, the same for an app that does not exist, so the answer tells a
 * stranger nothing.
 */
@Path(Constants.GATE_PATH)
@Produces(MediaType.TEXT_PLAIN)
public class GateResource {

    /** Seconds a refused caller (429, 503) is told to wait before calling again. */
    static final String RETRY_AFTER_SECONDS = "1";

    private final DrainGate gate;
    private final PodTokens tokens;

    public GateResource(DrainGate gate, PodTokens tokens) {
        this.gate = gate;
        this.tokens = tokens;
    }

    /** httpGet mode (opt-in): the kubelet's hook cannot name its pod, so the gate attributes the call. */
    @GET
    @Path("{namespace}/{app}")
    public Uni<RestResponse<String>> app(@RestPath String namespace, @RestPath String app,
            @HeaderParam("Authorization") String authorization, @Context HttpServerRequest request) {
        return checked(namespace, app, null, authorization, request);
    }

    /** Gate mode's drain helper and exec mode's script name their pod. */
    @GET
    @Path("{namespace}/{app}/{pod}")
    public Uni<RestResponse<String>> pod(@RestPath String namespace, @RestPath String app, @RestPath String pod,
            @HeaderParam("Authorization") String authorization, @Context HttpServerRequest request) {
        return checked(namespace, app, pod, authorization, request);
    }

    /** Any other path under the gate: extra or empty segments. */
    @GET
    @Path("{rest:.*}")
    public RestResponse<String> other(@RestPath String rest) {
        return text(404, "not a gate path: /gate/v1/" + GatePath.echo(rest) + "; " + GatePath.USAGE + "\n");
    }

    private Uni<RestResponse<String>> checked(String namespace, String app, String pod, String authorization,
            HttpServerRequest request) {
        Optional<String> problem = GatePath.problem(namespace, app, pod);
        if (problem.isPresent()) {
            return Uni.createFrom().item(text(400, problem.get() + "\n"));
        }
        io.vertx.core.Context context = Vertx.currentContext();
        String token = BoundedReviews.bearer(authorization);
        if (gate.authRequired() && PodTokens.isJwt(token)) {
            String caller = request == null || request.remoteAddress() == null ? "unknown"
                    : request.remoteAddress().hostAddress();
            return Uni.createFrom().completionStage(tokens.review(token, caller))
                    .flatMap(v -> forPod(v, namespace, app, pod, context));
        }
        Optional<String> refused = gate.refuse(namespace, app, token);
        if (refused.isPresent()) {
            return Uni.createFrom().item(text(401, refused.get() + "\n"));
        }
        return answer(gate.hold(namespace, app, pod, null), context);
    }

    /** A reviewed pod token: the call may hold only the pod the token was issued for. */
    private Uni<RestResponse<String>> forPod(PodTokens.Verdict v, String namespace, String app, String pod,
            io.vertx.core.Context context) {
        if (!v.accepted()) {
            gate.counted(v.status() == 401 ? "invalid" : "unchecked");
            String tail = v.status() == 401 ? "; not holding" : "; ask again";
            RestResponse.ResponseBuilder<String> r = RestResponse.ResponseBuilder.<String>create(v.status())
                    .entity(v.text() + " (" + namespace + "/" + app + ")" + tail + "\n").type(MediaType.TEXT_PLAIN_TYPE);
            if (v.status() == 429 || v.status() == 503) {
                r.header("Retry-After", RETRY_AFTER_SECONDS);
            }
            return Uni.createFrom().item(r.build());
        }
        PodTokens.Identity who = v.who();
        if (!who.namespace().equals(namespace) || (pod != null && !who.pod().equals(pod))) {
            gate.counted("other-pod");
            return Uni.createFrom().item(text(403, "this token was issued to pod " + who.namespace() + "/" + who.pod()
                    + ", and a pod may ask the drain gate only for itself; not holding\n"));
        }
        gate.counted("pod");
        return answer(gate.hold(namespace, app, who.pod(), who.uid()), context);
    }

    private static Uni<RestResponse<String>> answer(CompletionStage<GateAnswer> held, io.vertx.core.Context context) {
        // Resume on the connection's own event loop: a burst of releases then costs the gate's
        // thread one task per call instead of a cross-thread socket write.
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
