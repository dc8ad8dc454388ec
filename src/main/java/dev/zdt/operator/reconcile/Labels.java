package dev.zdt.operator.reconcile;

import java.util.LinkedHashMap;
import java.util.Map;

import dev.zdt.operator.Constants;
import dev.zdt.operator.api.v1alpha1.ZeroDowntimeApp;

/** The labels every child of a ZeroDowntimeApp carries. Names of children equal the app's name. */
public final class Labels {

    private Labels() {
    }

    /** Immutable selector of the Deployment, Service and PodDisruptionBudget. */
    public static Map<String, String> selector(ZeroDowntimeApp app) {
        return Map.of(Constants.APP_LABEL, app.getMetadata().getName());
    }

    public static Map<String, String> all(ZeroDowntimeApp app) {
        Map<String, String> labels = new LinkedHashMap<>(selector(app));
        labels.put(Constants.NAME_LABEL, app.getMetadata().getName());
        labels.put(Constants.INSTANCE_LABEL, app.getMetadata().getName());
        labels.put(Constants.MANAGED_BY_LABEL, Constants.OPERATOR_NAME);
        return labels;
    }
}
