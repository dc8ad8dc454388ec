package dev.zdt.operator.status;

import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.BiConsumer;

import io.fabric8.kubernetes.client.CustomResource;
import io.fabric8.kubernetes.client.utils.Serialization;

/**
 * The status this replica last wrote for each resource (a ZeroDowntimeApp, a DrainPolicy), kept
 * until the informer's copy of it has caught up with that write.
 * <p>
 * The reconciler compares the status it computes with the app's status to skip writes that change
 * nothing, and keeps a condition's {@code lastTransitionTime} from the app's status. Both read the
 * informer's copy, which lags the API server under load (issue 18's scale runs: a burst of pod
 * events can reconcile an app several times within a second). A reconcile that runs before its
 * previous write came back through the watch would find the old status, write the new one again
 * and stamp its conditions with a new transition time. With this, it compares with that write.
 * <p>
 * It can only make the reconciler see a newer status, never skip a write the app needs: an entry is
 * used only while the informer's copy is older (a smaller resourceVersion) than the write, and the
 * moment the copy is as new or newer (someone else wrote the status, the spec changed, the app was
 * re-created) the copy is used again and the entry dropped.
 */
final class WrittenStatuses<R extends CustomResource<?, S>, S> {

    /** Entries the informer never caught up with (the app was deleted meanwhile) go after this many writes. */
    static final int SWEEP_EVERY = 1_000;
    /** An entry older than this is dropped at the next sweep: the informer has long caught up or the app is gone. */
    static final long STALE_NANOS = 10L * 60 * 1_000_000_000;

    private record Written<S>(String uid, long resourceVersion, S status, long atNanos) {
    }

    private final Map<String, Written<S>> written = new ConcurrentHashMap<>();
    /** Copies the fields another writer owns from the cached status into the remembered one. */
    private final BiConsumer<S, S> othersFromCache;
    private int writes;

    WrittenStatuses(BiConsumer<S, S> othersFromCache) {
        this.othersFromCache = othersFromCache;
    }

    /**
     * The app as the reconciler should see it: {@code cached} itself, or, while this replica's last
     * status write for it is newer than {@code cached}, a copy of {@code cached} with that status
     * (the fields another writer owns, such as the drain reporter's {@code lastDrains}, kept from {@code cached}).
     */
    R freshest(R cached) {
        String key = key(cached);
        Written<S> w = written.get(key);
        if (w == null) {
            return cached;
        }
        long cachedVersion = version(cached);
        if (!Objects.equals(w.uid(), cached.getMetadata().getUid()) || cachedVersion < 0
                || cachedVersion >= w.resourceVersion()) {
            written.remove(key, w);
            return cached;
        }
        R copy = Serialization.clone(cached);
        S status = Serialization.clone(w.status());
        if (cached.getStatus() != null) {
            othersFromCache.accept(cached.getStatus(), status);
        }
        copy.setStatus(status);
        return copy;
    }

    /** Remembers {@code result}, the resource as the API server returned it from the status write. */
    void wrote(R result) {
        long version = version(result);
        if (result == null || result.getStatus() == null || version < 0) {
            return;
        }
        long now = System.nanoTime();
        written.put(key(result), new Written<>(result.getMetadata().getUid(), version, result.getStatus(), now));
        boolean sweep;
        synchronized (this) {
            sweep = ++writes % SWEEP_EVERY == 0;
        }
        if (sweep) {
            written.values().removeIf(w -> now - w.atNanos() > STALE_NANOS);
        }
    }

    /** Resources with a write the informer has not been seen to catch up with. */
    int size() {
        return written.size();
    }

    private static String key(CustomResource<?, ?> r) {
        return r.getMetadata().getNamespace() + "/" + r.getMetadata().getName();
    }

    /** The resourceVersion as a number, or -1 if it is not one (then nothing is compared or kept). */
    private static long version(CustomResource<?, ?> r) {
        if (r == null || r.getMetadata() == null || r.getMetadata().getResourceVersion() == null) {
            return -1;
        }
        try {
            return Long.parseLong(r.getMetadata().getResourceVersion());
        } catch (NumberFormatException e) {
            return -1;
        }
    }
}
