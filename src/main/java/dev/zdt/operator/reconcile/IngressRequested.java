package dev.zdt.operator.reconcile;

import dev.zdt.operator.api.v1alpha1.ZeroDowntimeApp;
import io.fabric8.kubernetes.api.model.networking.v1.Ingress;
import io.javaoperatorsdk.operator.api.reconciler.Context;
import io.javaoperatorsdk.operator.api.reconciler.dependent.DependentResource;
import io.javaoperatorsdk.operator.processing.dependent.workflow.Condition;

/** The Ingress exists only while spec.ingress is set; removing the field removes the Ingress. */
public class IngressRequested implements Condition<Ingress, ZeroDowntimeApp> {

    @Override
    public boolean isMet(DependentResource<Ingress, ZeroDowntimeApp> dependentResource, ZeroDowntimeApp app,
            Context<ZeroDowntimeApp> context) {
        return app.getSpec().getIngress() != null;
    }
}
