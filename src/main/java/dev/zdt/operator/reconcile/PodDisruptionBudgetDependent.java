package dev.zdt.operator.reconcile;

import dev.zdt.operator.Constants;
import dev.zdt.operator.api.v1alpha1.ZeroDowntimeApp;
import io.fabric8.kubernetes.api.model.IntOrString;
import io.fabric8.kubernetes.api.model.policy.v1.PodDisruptionBudget;
import io.fabric8.kubernetes.api.model.policy.v1.PodDisruptionBudgetBuilder;
import io.javaoperatorsdk.operator.api.config.informer.Informer;
import io.javaoperatorsdk.operator.api.reconciler.Context;
import io.javaoperatorsdk.operator.processing.dependent.kubernetes.KubernetesDependent;

/**
 * Evictions (kubectl drain) take one pod at a time, so each passes the drain gate while the
 * others serve.
 */
@KubernetesDependent(informer = @Informer(labelSelector = Constants.SELECTOR_MANAGED))
public class PodDisruptionBudgetDependent extends OwnedDependent<PodDisruptionBudget> {

    public PodDisruptionBudgetDependent() {
        super(PodDisruptionBudget.class);
    }

    @Override
    protected PodDisruptionBudget desired(ZeroDowntimeApp app, Context<ZeroDowntimeApp> context) {
        return render(app);
    }

    public static PodDisruptionBudget render(ZeroDowntimeApp app) {
        return new PodDisruptionBudgetBuilder()
                .withNewMetadata()
                    .withName(app.getMetadata().getName())
                    .withNamespace(app.getMetadata().getNamespace())
                    .withLabels(Labels.all(app))
                .endMetadata()
                .withNewSpec()
                    .withMaxUnavailable(new IntOrString(1))
                    .withNewSelector().withMatchLabels(Labels.selector(app)).endSelector()
                .endSpec()
                .build();
    }
}
