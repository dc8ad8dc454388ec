package dev.zdt.operator.watch;

import java.util.List;
import java.util.Map;

import io.fabric8.kubernetes.api.model.HasMetadata;

/** How the shared caches index objects by app: {@code namespace/<label value>}. Pure. */
public final class AppIndex {

    /** The indexer's name on the pod and EndpointSlice caches. */
    public static final String NAME = "zdt-app";

    private AppIndex() {
    }

    /** The index keys of an object: {@code namespace/<its label value>}, or none without the label. */
    public static List<String> keys(HasMetadata o, String label) {
        String value = label(o, label);
        return value == null ? List.of() : List.of(key(o.getMetadata().getNamespace(), value));
    }

    public static String label(HasMetadata o, String label) {
        Map<String, String> labels = o.getMetadata().getLabels();
        return labels == null ? null : labels.get(label);
    }

    /** {@code namespace/name}, or null without a name. */
    public static String key(String namespace, String name) {
        return name == null ? null : namespace + "/" + name;
    }
}
