package dev.zdt.operator.reconcile;

import dev.zdt.operator.api.v1alpha1.ZeroDowntimeApp;
import io.fabric8.kubernetes.api.model.gatewayapi.v1.HTTPRoute;
import io.javaoperatorsdk.operator.api.reconciler.Context;
import io.javaoperatorsdk.operator.api.reconciler.dependent.DependentResource;
import io.javaoperatorsdk.operator.processing.dependent.workflow.Condition;

/** The HTTPRoute exists only while spec.route is set; removing the field (or switching to ingress) removes it. */
public class RouteRequested implements Condition<HTTPRoute, ZeroDowntimeApp> {

    @Override
    public boolean isMet(DependentResource<HTTPRoute, ZeroDowntimeApp> dependentResource, ZeroDowntimeApp app,
            Context<ZeroDowntimeApp> context) {
        return app.getSpec().getRoute() != null;
    }
}
