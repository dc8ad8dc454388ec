package dev.zdt.operator.gate;

import java.util.List;
import java.util.Map;

import jakarta.enterprise.context.ApplicationScoped;

import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.client.dsl.MixedOperation;
import io.fabric8.kubernetes.client.informers.SharedIndexInformer;

/**
 * Informers on the watched namespaces ({@link WatchConfig}): one list and watch across the cluster
 * when all are watched, else one per namespace, which is what a namespaced install's Roles allow.
 * The drain gate's and warm-in's caches are made here; the reconciler's are QOSDK's.
 */
@ApplicationScoped
public class Watched {

    private final List<String> namespaces;

    public Watched(WatchConfig config) {
        this.namespaces = config.namespaces().map(l -> l.stream().map(String::trim).filter(s -> !s.isEmpty()).toList())
                .orElse(List.of());
    }

    /** The watched namespaces; empty means all. */
    public List<String> namespaces() {
        return namespaces;
    }

    /** A runnable, not yet started informer on the objects that carry the label (any value) in the watched namespaces. */
    public <T extends HasMetadata> SharedIndexInformer<T> informerWithLabel(MixedOperation<T, ?, ?> resources,
            String label) {
        if (namespaces.isEmpty()) {
            return resources.inAnyNamespace().withLabel(label).runnableInformer(0);
        }
        if (namespaces.size() == 1) {
            return resources.inNamespace(namespaces.get(0)).withLabel(label).runnableInformer(0);
        }
        return new NamespacesInformer<>(namespaces.stream()
                .map(ns -> resources.inNamespace(ns).withLabel(label).runnableInformer(0)).toList());
    }

    /** A runnable, not yet started informer on the EndpointSlices without these labels in the watched namespaces. */
    public <T extends HasMetadata> SharedIndexInformer<T> informerWithout(MixedOperation<T, ?, ?> resources,
            String label, String value) {
        if (namespaces.isEmpty()) {
            return resources.inAnyNamespace().withoutLabel(label, value).runnableInformer(0);
        }
        if (namespaces.size() == 1) {
            return resources.inNamespace(namespaces.get(0)).withoutLabel(label, value).runnableInformer(0);
        }
        return new NamespacesInformer<>(namespaces.stream()
                .map(ns -> resources.inNamespace(ns).withoutLabel(label, value).runnableInformer(0)).toList());
    }

    /** A runnable, not yet started informer on the objects with these labels in the watched namespaces. */
    public <T extends HasMetadata> SharedIndexInformer<T> informer(MixedOperation<T, ?, ?> resources,
            Map<String, String> labels) {
        if (namespaces.isEmpty()) {
            return resources.inAnyNamespace().withLabels(labels).runnableInformer(0);
        }
        if (namespaces.size() == 1) {
            return resources.inNamespace(namespaces.get(0)).withLabels(labels).runnableInformer(0);
        }
        return new NamespacesInformer<>(namespaces.stream()
                .map(ns -> resources.inNamespace(ns).withLabels(labels).runnableInformer(0)).toList());
    }
}
