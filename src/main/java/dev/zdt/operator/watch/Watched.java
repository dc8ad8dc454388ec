package dev.zdt.operator.watch;

import java.util.List;
import java.util.Map;
import java.util.function.Function;

import jakarta.enterprise.context.ApplicationScoped;

import dev.zdt.operator.kube.Lean;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.client.dsl.FilterWatchListDeletable;
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
    /** Objects per list page; null: one answer. */
    private final Long pageSize;

    public Watched(WatchConfig config) {
        if (config.listPageSize() < 0) {
            throw new IllegalArgumentException("zdt.watch.list-page-size must be 0 (no pages) or more, not "
                    + config.listPageSize());
        }
        this.pageSize = config.listPageSize() == 0 ? null : config.listPageSize();
        this.namespaces = config.namespaces().map(l -> l.stream().map(String::trim).filter(s -> !s.isEmpty()).toList())
                .orElse(List.of());
    }

    /** The watched namespaces; empty means all. */
    public List<String> namespaces() {
        return namespaces;
    }

    /** A runnable, not yet started informer on the objects with these labels in the watched namespaces. */
    public <T extends HasMetadata> SharedIndexInformer<T> informer(MixedOperation<T, ?, ?> resources,
            Map<String, String> labels) {
        return informer(resources, r -> r.withLabels(labels));
    }

    /** The same, on the objects that carry the label, whatever its value. */
    public <T extends HasMetadata> SharedIndexInformer<T> informerWithLabel(MixedOperation<T, ?, ?> resources,
            String label) {
        return informer(resources, r -> r.withLabel(label));
    }

    /** The same, on the objects that do not carry the label with that value. */
    public <T extends HasMetadata> SharedIndexInformer<T> informerWithout(MixedOperation<T, ?, ?> resources,
            String label, String value) {
        return informer(resources, r -> r.withoutLabel(label, value));
    }

    private <T extends HasMetadata> SharedIndexInformer<T> informer(MixedOperation<T, ?, ?> resources,
            Function<FilterWatchListDeletable<T, ?, ?>, FilterWatchListDeletable<T, ?, ?>> filter) {
        if (namespaces.isEmpty()) {
            return lean(filter.apply(resources.inAnyNamespace()));
        }
        if (namespaces.size() == 1) {
            return lean(filter.apply(resources.inNamespace(namespaces.get(0))));
        }
        return new NamespacesInformer<>(namespaces.stream()
                .map(ns -> lean(filter.apply(resources.inNamespace(ns)))).toList());
    }

    /** Caches without managed fields: the gate and warm-in read none. */
    private <T extends HasMetadata> SharedIndexInformer<T> lean(FilterWatchListDeletable<T, ?, ?> selected) {
        // Listed in pages: fabric8 adds each page's objects to the store (stripped) before it asks
        // for the next, so a list never holds more than one page of decoded objects at once.
        return selected.withLimit(pageSize).runnableInformer(0).itemStore(Lean.store());
    }
}
