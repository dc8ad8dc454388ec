package dev.zdt.operator.watch;

import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Consumer;

import jakarta.annotation.PreDestroy;

import org.jboss.logging.Logger;

import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.client.informers.ResourceEventHandler;
import io.fabric8.kubernetes.client.informers.SharedIndexInformer;

/**
 * One informer per replica that several readers share: made on first use, started on the first
 * {@link #watch} (so a reader takes it, adds its handler, and is never called before it holds the
 * cache it reads), and retrying for as long as the API server, or the CRD, is away.
 */
public abstract class SharedInformer<T extends HasMetadata> {

    private static final Logger LOG = Logger.getLogger(SharedInformer.class);

    private SharedIndexInformer<T> informer;
    private boolean started;
    private CompletableFuture<Void> synced;

    /** A new, unstarted informer with the indexers its readers need. */
    protected abstract SharedIndexInformer<T> create();

    /** Names the informer in the log line of a failed list or watch. */
    protected abstract String what();

    /** The informer; not started until the first {@link #watch} or {@link #start}. */
    public synchronized SharedIndexInformer<T> informer() {
        if (informer == null) {
            informer = create();
            informer.exceptionHandler((isStarted, error) -> {
                LOG.debugf("%s informer: %s; retrying", what(), error.getMessage());
                return true;
            });
        }
        return informer;
    }

    /**
     * A handler that passes every added and updated object to {@code changed}, and every deleted
     * one too when {@code deletes}.
     */
    public static <T> ResourceEventHandler<T> onChange(Consumer<T> changed, boolean deletes) {
        return new ResourceEventHandler<>() {
            @Override
            public void onAdd(T object) {
                changed.accept(object);
            }

            @Override
            public void onUpdate(T before, T object) {
                changed.accept(object);
            }

            @Override
            public void onDelete(T object, boolean unknownFinalState) {
                if (deletes) {
                    changed.accept(object);
                }
            }
        };
    }

    /** Adds a handler; it is also told of everything already in the cache. Starts the watch on first use. */
    public synchronized void watch(ResourceEventHandler<T> handler) {
        informer().addEventHandler(handler);
        start();
    }

    public synchronized void start() {
        if (!started) {
            started = true;
            synced = informer().start().toCompletableFuture();
        }
    }

    /**
     * Waits until everything was listed once, at most {@code limit}: false if it was not by then
     * (the API server away, the list retried meanwhile). Starts the informer if not yet started.
     */
    public boolean awaitSynced(Duration limit) throws InterruptedException {
        CompletableFuture<Void> done;
        synchronized (this) {
            start();
            done = synced;
        }
        try {
            done.get(limit.toMillis(), TimeUnit.MILLISECONDS);
            return true;
        } catch (TimeoutException | ExecutionException e) {
            return informer().hasSynced();
        }
    }

    /** Started, and everything listed once. */
    public synchronized boolean synced() {
        return started && informer().hasSynced();
    }

    @PreDestroy
    synchronized void stop() {
        if (informer != null) {
            informer.stop();
        }
    }
}
