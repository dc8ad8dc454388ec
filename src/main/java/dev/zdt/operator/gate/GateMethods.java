package dev.zdt.operator.gate;

import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;

import dev.zdt.operator.Constants;
import io.vertx.core.http.HttpMethod;
import io.vertx.ext.web.Router;

/**
 * Answers methods the gate does not serve with 405 and the {@code Allow} header HTTP asks for, before
 * the request reaches the REST layer (which answers 405 without saying what is allowed). GET is what
 * the kubelet sends for an httpGet hook; HEAD is served as GET is, and is held the same way.
 */
@ApplicationScoped
public class GateMethods {

    static final String ALLOW = "GET, HEAD";

    void routes(@Observes Router router) {
        router.route(Constants.GATE_PATH + "/*").order(-10).handler(ctx -> {
            HttpMethod method = ctx.request().method();
            if (HttpMethod.GET.equals(method) || HttpMethod.HEAD.equals(method)) {
                ctx.next();
                return;
            }
            ctx.response().setStatusCode(405).putHeader("Allow", ALLOW).putHeader("Content-Type", "text/plain")
                    .end("method " + method.name() + " is not served by the drain gate; it answers " + ALLOW
                            + " (the kubelet's httpGet preStop hook)\n");
        });
    }
}
