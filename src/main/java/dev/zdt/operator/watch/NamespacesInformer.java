package dev.zdt.operator.watch;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.function.Function;

import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.client.informers.ExceptionHandler;
import io.fabric8.kubernetes.client.informers.ResourceEventHandler;
import io.fabric8.kubernetes.client.informers.SharedIndexInformer;
import io.fabric8.kubernetes.client.informers.cache.Indexer;
import io.fabric8.kubernetes.client.informers.cache.ItemStore;
import io.fabric8.kubernetes.client.informers.cache.Store;

/**
 * One informer per namespace, read as one: what fabric8 lacks and a namespaced install needs (a
 * Role allows list and watch in its namespace only). Handlers, indexers and the exception handler
 * go to every namespace's informer; reads concatenate their caches, a {@code namespace/name} key
 * is looked up in its namespace's cache alone.
 */
final class NamespacesInformer<T extends HasMetadata> implements SharedIndexInformer<T> {

    private final List<SharedIndexInformer<T>> informers;
    private final Cache cache = new Cache();

    NamespacesInformer(List<SharedIndexInformer<T>> informers) {
        this.informers = List.copyOf(informers);
    }

    private List<T> concat(Function<SharedIndexInformer<T>, List<T>> read) {
        List<T> all = new ArrayList<>();
        informers.forEach(i -> all.addAll(read.apply(i)));
        return all;
    }

    // ---------------------------------------------------------------- SharedIndexInformer

    @Override
    public SharedIndexInformer<T> addIndexers(Map<String, Function<T, List<String>>> indexers) {
        informers.forEach(i -> i.addIndexers(indexers));
        return this;
    }

    @Override
    public SharedIndexInformer<T> removeIndexer(String name) {
        informers.forEach(i -> i.removeIndexer(name));
        return this;
    }

    @Override
    public Indexer<T> getIndexer() {
        return cache;
    }

    @Override
    public SharedIndexInformer<T> addEventHandler(ResourceEventHandler<? super T> handler) {
        informers.forEach(i -> i.addEventHandler(handler));
        return this;
    }

    @Override
    public SharedIndexInformer<T> removeEventHandler(ResourceEventHandler<? super T> handler) {
        informers.forEach(i -> i.removeEventHandler(handler));
        return this;
    }

    @Override
    public SharedIndexInformer<T> addEventHandlerWithResyncPeriod(ResourceEventHandler<? super T> handler,
            long resyncPeriod) {
        informers.forEach(i -> i.addEventHandlerWithResyncPeriod(handler, resyncPeriod));
        return this;
    }

    @Override
    public SharedIndexInformer<T> run() {
        informers.forEach(SharedIndexInformer::run);
        return this;
    }

    @Override
    public CompletionStage<Void> start() {
        return CompletableFuture.allOf(informers.stream().map(i -> i.start().toCompletableFuture())
                .toArray(CompletableFuture[]::new));
    }

    @Override
    public void stop() {
        informers.forEach(SharedIndexInformer::stop);
    }

    @Override
    public CompletionStage<Void> stopped() {
        return CompletableFuture.allOf(informers.stream().map(i -> i.stopped().toCompletableFuture())
                .toArray(CompletableFuture[]::new));
    }

    @Override
    public boolean hasSynced() {
        return informers.stream().allMatch(SharedIndexInformer::hasSynced);
    }

    @Override
    public boolean isRunning() {
        return informers.stream().allMatch(SharedIndexInformer::isRunning);
    }

    @Override
    public boolean isWatching() {
        return informers.stream().allMatch(SharedIndexInformer::isWatching);
    }

    @Override
    public SharedIndexInformer<T> exceptionHandler(ExceptionHandler handler) {
        informers.forEach(i -> i.exceptionHandler(handler));
        return this;
    }

    @Override
    public Class<T> getApiTypeClass() {
        return informers.get(0).getApiTypeClass();
    }

    @Override
    public Store<T> getStore() {
        return cache;
    }

    /** Resource versions are per namespace here: there is no one version to resume from. */
    @Override
    public String lastSyncResourceVersion() {
        throw new UnsupportedOperationException("one informer per namespace: no single resource version");
    }

    @Override
    public SharedIndexInformer<T> initialState(java.util.stream.Stream<T> items) {
        throw new UnsupportedOperationException("one informer per namespace: set the state of each");
    }

    @Override
    public SharedIndexInformer<T> itemStore(ItemStore<T> itemStore) {
        throw new UnsupportedOperationException("one informer per namespace: set the store of each");
    }

    /** The namespaces' caches read as one. */
    private final class Cache implements Indexer<T> {

        @Override
        public List<T> list() {
            return concat(i -> i.getIndexer().list());
        }

        @Override
        public List<String> listKeys() {
            List<String> keys = new ArrayList<>();
            informers.forEach(i -> keys.addAll(i.getIndexer().listKeys()));
            return keys;
        }

        @Override
        public T get(T obj) {
            return getByKey(getKey(obj));
        }

        @Override
        public T getByKey(String key) {
            for (SharedIndexInformer<T> i : informers) {
                T found = i.getIndexer().getByKey(key);
                if (found != null) {
                    return found;
                }
            }
            return null;
        }

        @Override
        public String getKey(T obj) {
            return informers.get(0).getIndexer().getKey(obj);
        }

        @Override
        public List<T> index(String indexName, T obj) {
            return concat(i -> i.getIndexer().index(indexName, obj));
        }

        @Override
        public List<String> indexKeys(String indexName, String indexKey) {
            List<String> keys = new ArrayList<>();
            informers.forEach(i -> keys.addAll(i.getIndexer().indexKeys(indexName, indexKey)));
            return keys;
        }

        @Override
        public List<T> byIndex(String indexName, String indexedValue) {
            return concat(i -> i.getIndexer().byIndex(indexName, indexedValue));
        }

        @Override
        public Map<String, Function<T, List<String>>> getIndexers() {
            return informers.get(0).getIndexer().getIndexers();
        }

        @Override
        public void addIndexers(Map<String, Function<T, List<String>>> indexers) {
            informers.forEach(i -> i.getIndexer().addIndexers(indexers));
        }

        @Override
        public void removeIndexer(String name) {
            informers.forEach(i -> i.getIndexer().removeIndexer(name));
        }
    }
}
