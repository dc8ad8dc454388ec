package dev.zdt.operator.reconcile;

import dev.zdt.operator.Constants;
import dev.zdt.operator.api.v1alpha1.RouteSpec;
import dev.zdt.operator.api.v1alpha1.ZeroDowntimeApp;
import io.fabric8.kubernetes.api.model.gatewayapi.v1.HTTPRoute;
import io.fabric8.kubernetes.api.model.gatewayapi.v1.HTTPRouteBuilder;
import io.fabric8.kubernetes.api.model.gatewayapi.v1.HTTPRouteSpecBuilder;
import io.javaoperatorsdk.operator.api.config.informer.Informer;
import io.javaoperatorsdk.operator.api.reconciler.Context;
import io.javaoperatorsdk.operator.processing.dependent.kubernetes.KubernetesDependent;

/**
 * The app's Gateway API HTTPRoute, when spec.route is set: one rule, the path match, one
 * backendRef to the app's Service and port. Active only where the Gateway API CRDs are served
 * ({@link GatewayApiPresent}); elsewhere no informer is started and the app reports why.
 */
@KubernetesDependent(informer = @Informer(labelSelector = Constants.SELECTOR_MANAGED))
public class HTTPRouteDependent extends OwnedDependent<HTTPRoute> {

    static final String GATEWAY_GROUP = "gateway.networking.k8s.io";

    public HTTPRouteDependent() {
        super(HTTPRoute.class);
    }

    @Override
    protected HTTPRoute desired(ZeroDowntimeApp app, Context<ZeroDowntimeApp> context) {
        return render(app);
    }

    public static HTTPRoute render(ZeroDowntimeApp app) {
        RouteSpec spec = app.getSpec().getRoute();
        String name = app.getMetadata().getName();
        if (spec == null) {
            // As for the Ingress: JOSDK asks for the desired state to find what to delete once spec.route is removed.
            return new HTTPRouteBuilder().withNewMetadata().withName(name).withNamespace(app.getMetadata().getNamespace())
                    .endMetadata().build();
        }
        HTTPRouteSpecBuilder route = new HTTPRouteSpecBuilder();
        for (RouteSpec.ParentRef parent : spec.getParentRefs()) {
            route.addNewParentRef()
                    .withGroup(GATEWAY_GROUP)
                    .withKind("Gateway")
                    .withName(parent.getName())
                    .withNamespace(parent.getNamespace())
                    .withSectionName(parent.getSectionName())
                    .endParentRef();
        }
        if (spec.getHostnames() != null && !spec.getHostnames().isEmpty()) {
            route.withHostnames(spec.getHostnames());
        }
        route.addNewRule()
                .addNewMatch().withNewPath(spec.getPathType().name(), spec.getPath()).endMatch()
                .addNewBackendRef()
                    .withGroup("")
                    .withKind("Service")
                    .withName(name)
                    .withPort(app.getSpec().getService().getPort())
                .endBackendRef()
                .endRule();
        return new HTTPRouteBuilder()
                .withNewMetadata()
                    .withName(name)
                    .withNamespace(app.getMetadata().getNamespace())
                    .withLabels(Labels.all(app))
                .endMetadata()
                .withSpec(route.build())
                .build();
    }
}
