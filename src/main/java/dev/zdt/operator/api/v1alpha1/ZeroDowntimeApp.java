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
 * An application whose rolling updates, scale-downs and evictions drop no requests: the operator
 * derives the drain budget from the traffic provider in front and gates each pod's termination.
 */
@Group(ZeroDowntimeApp.GROUP)
@Version(ZeroDowntimeApp.VERSION)
@Kind("ZeroDowntimeApp")
@Plural("zerodowntimeapps")
@ShortNames("zdt")
@AdditionalPrinterColumn(name = "Replicas", jsonPath = ".spec.replicas", type = AdditionalPrinterColumn.Type.INTEGER)
@AdditionalPrinterColumn(name = "Available", jsonPath = ".status.readyReplicas", type = AdditionalPrinterColumn.Type.INTEGER)
@AdditionalPrinterColumn(name = "Draining", jsonPath = ".status.drainingPods", type = AdditionalPrinterColumn.Type.INTEGER)
@AdditionalPrinterColumn(name = "Grace", jsonPath = ".status.drainBudget.terminationGracePeriodSeconds", type = AdditionalPrinterColumn.Type.INTEGER)
@AdditionalPrinterColumn(name = "Ready", jsonPath = ".status.conditions[?(@.type==\"Ready\")].status", type = AdditionalPrinterColumn.Type.STRING)
@AdditionalPrinterColumn(name = "Reason", jsonPath = ".status.conditions[?(@.type==\"Ready\")].reason", type = AdditionalPrinterColumn.Type.STRING)
@AdditionalPrinterColumn(name = "Age", jsonPath = ".metadata.creationTimestamp", type = AdditionalPrinterColumn.Type.DATE)
public class ZeroDowntimeApp extends CustomResource<ZeroDowntimeAppSpec, ZeroDowntimeAppStatus> implements Namespaced {

    public static final String GROUP = "zdt.dev";
    public static final String VERSION = "v1alpha1";

    @Override
    protected ZeroDowntimeAppStatus initStatus() {
        return new ZeroDowntimeAppStatus();
    }
}
