package dev.zdt.operator.reconcile;

import dev.zdt.operator.Constants;
import dev.zdt.operator.api.v1alpha1.ZeroDowntimeApp;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.ServiceBuilder;
import io.javaoperatorsdk.operator.api.config.informer.Informer;
import io.javaoperatorsdk.operator.api.reconciler.Context;
import io.javaoperatorsdk.operator.processing.dependent.kubernetes.KubernetesDependent;

/** The app's Service: its EndpointSlices are what the front end and the drain gate watch. */
@KubernetesDependent(informer = @Informer(labelSelector = Constants.SELECTOR_MANAGED))
public class ServiceDependent extends OwnedDependent<Service> {

    public ServiceDependent() {
        super(Service.class);
    }

    @Override
    protected Service desired(ZeroDowntimeApp app, Context<ZeroDowntimeApp> context) {
        return render(app);
    }

    public static Service render(ZeroDowntimeApp app) {
        ServingContainer serving = ServingContainer.of(app.getSpec());
        return new ServiceBuilder()
                .withNewMetadata()
                    .withName(app.getMetadata().getName())
                    .withNamespace(app.getMetadata().getNamespace())
                    .withLabels(Labels.all(app))
                .endMetadata()
                .withNewSpec()
                    .withType(app.getSpec().getService().getType().name())
                    .withSelector(Labels.selector(app))
                    .addNewPort()
                        .withName("http")
                        .withProtocol("TCP")
                        .withPort(app.getSpec().getService().getPort())
                        .withTargetPort(serving.targetPort())
                    .endPort()
                .endSpec()
                .build();
    }
}
