package dev.zdt.operator.reconcile;

import dev.zdt.operator.Constants;
import dev.zdt.operator.api.v1alpha1.IngressSpec;
import dev.zdt.operator.api.v1alpha1.ZeroDowntimeApp;
import io.fabric8.kubernetes.api.model.networking.v1.Ingress;
import io.fabric8.kubernetes.api.model.networking.v1.IngressBuilder;
import io.javaoperatorsdk.operator.api.config.informer.Informer;
import io.javaoperatorsdk.operator.api.reconciler.Context;
import io.javaoperatorsdk.operator.processing.dependent.kubernetes.KubernetesDependent;

/** The app's Ingress, when spec.ingress is set. */
@KubernetesDependent(informer = @Informer(labelSelector = Constants.SELECTOR_MANAGED))
public class IngressDependent extends OwnedDependent<Ingress> {

    public IngressDependent() {
        super(Ingress.class);
    }

    @Override
    protected Ingress desired(ZeroDowntimeApp app, Context<ZeroDowntimeApp> context) {
        return render(app);
    }

    public static Ingress render(ZeroDowntimeApp app) {
        IngressSpec spec = app.getSpec().getIngress();
        String name = app.getMetadata().getName();
        if (spec == null) {
            // JOSDK asks for the desired state to find what to delete once spec.ingress is removed.
            return new IngressBuilder().withNewMetadata().withName(name).withNamespace(app.getMetadata().getNamespace())
                    .endMetadata().build();
        }
        IngressBuilder builder = new IngressBuilder()
                .withNewMetadata()
                    .withName(name)
                    .withNamespace(app.getMetadata().getNamespace())
                    .withLabels(Labels.all(app))
                .endMetadata()
                .withNewSpec()
                    .withIngressClassName(spec.getClassName())
                    .addNewRule()
                        .withHost(spec.getHost())
                        .withNewHttp()
                            .addNewPath()
                                .withPath(spec.getPath())
                                .withPathType(spec.getPathType().name())
                                .withNewBackend().withNewService()
                                    .withName(name)
                                    .withNewPort().withNumber(app.getSpec().getService().getPort()).endPort()
                                .endService().endBackend()
                            .endPath()
                        .endHttp()
                    .endRule()
                .endSpec();
        if (spec.getTlsSecretName() != null) {
            builder.editSpec().addNewTl().withHosts(spec.getHost()).withSecretName(spec.getTlsSecretName()).endTl()
                    .endSpec();
        }
        return builder.build();
    }
}
