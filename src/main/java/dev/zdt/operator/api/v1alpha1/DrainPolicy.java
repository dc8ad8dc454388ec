package dev.zdt.operator.api.v1alpha1;

import io.fabric8.crd.generator.annotation.AdditionalPrinterColumn;
import io.fabric8.kubernetes.api.model.Namespaced;
import io.fabric8.kubernetes.client.CustomResource;
import io.fabric8.kubernetes.model.annotation.Group;
import io.fabric8.kubernetes.model.annotation.Kind;
import io.fabric8.kubernetes.model.annotation.Plural;
import io.fabric8.kubernetes.model.annotation.ShortNames;
import io.fabric8.kubernetes.model.annotation.Version;

/**
 * Attaches the drain to pods that exist outside the operator (a Deployment from a Helm chart, a
 * StatefulSet, a rollout controller's ReplicaSets): the operator's admission webhook gives each new
 * pod the selector matches the gate-mode hook, the derived grace period and the in-rotation
 * readiness gate, and the pods keep their owners.
 */
@Group(ZeroDowntimeApp.GROUP)
@Version(ZeroDowntimeApp.VERSION)
@Kind("DrainPolicy")
@Plural("drainpolicies")
@ShortNames("zdtp")
@AdditionalPrinterColumn(name = "Covered", jsonPath = ".status.coveredPods", type = AdditionalPrinterColumn.Type.INTEGER)
@AdditionalPrinterColumn(name = "Unprotected", jsonPath = ".status.unprotectedPods", type = AdditionalPrinterColumn.Type.INTEGER)
@AdditionalPrinterColumn(name = "Grace", jsonPath = ".status.drainBudget.terminationGracePeriodSeconds", type = AdditionalPrinterColumn.Type.INTEGER)
@AdditionalPrinterColumn(name = "Ready", jsonPath = ".status.conditions[?(@.type==\"Ready\")].status", type = AdditionalPrinterColumn.Type.STRING)
@AdditionalPrinterColumn(name = "Reason", jsonPath = ".status.conditions[?(@.type==\"Ready\")].reason", type = AdditionalPrinterColumn.Type.STRING)
@AdditionalPrinterColumn(name = "Age", jsonPath = ".metadata.creationTimestamp", type = AdditionalPrinterColumn.Type.DATE)
public class DrainPolicy extends CustomResource<DrainPolicySpec, DrainPolicyStatus> implements Namespaced {

    @Override
    protected DrainPolicyStatus initStatus() {
        return new DrainPolicyStatus();
    }
}
