package dev.zdt.operator.watch;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.BiConsumer;

import jakarta.enterprise.context.ApplicationScoped;

import dev.zdt.operator.api.v1alpha1.ObservedPropagation;
import dev.zdt.operator.api.v1alpha1.ZeroDowntimeApp;
import io.fabric8.kubernetes.client.utils.Serialization;

/**
 * Tells the reconciler of this replica that the drain gate wrote an app's
 * status.observedPropagation, so that the conditions derived from it follow at once: a status write
 * does not change the generation, and generation-aware event processing skips it. The write is
 * kept until the reconciler's cache has caught up with it ({@link #freshest}), since the nudge
 * usually arrives first. Another replica's writes reach the leader with its next pod event or
 * periodic pass (2 minutes at most).
 */
@ApplicationScoped
public class StatusNudges {

    /** Apps whose write is remembered at once; past that the oldest is forgotten (its condition waits for the next pass). */
    static final int KEPT = 1_000;

    private record Written(String uid, long resourceVersion, ObservedPropagation observed) {
    }

    private final List<BiConsumer<String, String>> listeners = new CopyOnWriteArrayList<>();
    private final Map<String, Written> written = new LinkedHashMap<>(16, 0.75f, false) {
        @Override
        protected boolean removeEldestEntry(Map.Entry<String, Written> eldest) {
            return size() > KEPT;
        }
    };

    /** @param listener told namespace and name */
    public void listen(BiConsumer<String, String> listener) {
        listeners.add(listener);
    }

    /** @param result the app as the API server returned it from the write */
    public void changed(ZeroDowntimeApp result) {
        String namespace = result.getMetadata().getNamespace();
        String name = result.getMetadata().getName();
        long version = version(result);
        if (version >= 0 && result.getStatus() != null) {
            synchronized (written) {
                written.put(namespace + "/" + name, new Written(result.getMetadata().getUid(), version,
                        result.getStatus().getObservedPropagation()));
            }
        }
        listeners.forEach(l -> l.accept(namespace, name));
    }

    /**
     * The app with the newest observedPropagation this replica wrote, while its cached copy is older
     * (a smaller resourceVersion); else the app itself, and the entry is dropped.
     */
    public ZeroDowntimeApp freshest(ZeroDowntimeApp app) {
        String key = app.getMetadata().getNamespace() + "/" + app.getMetadata().getName();
        Written w;
        synchronized (written) {
            w = written.get(key);
            if (w == null) {
                return app;
            }
            long cached = version(app);
            if (!Objects.equals(w.uid(), app.getMetadata().getUid()) || cached < 0 || cached >= w.resourceVersion()) {
                written.remove(key);
                return app;
            }
        }
        ZeroDowntimeApp copy = Serialization.clone(app);
        if (copy.getStatus() == null) {
            copy.setStatus(new dev.zdt.operator.api.v1alpha1.ZeroDowntimeAppStatus());
        }
        copy.getStatus().setObservedPropagation(w.observed() == null ? null : Serialization.clone(w.observed()));
        return copy;
    }

    private static long version(ZeroDowntimeApp app) {
        try {
            return app == null || app.getMetadata().getResourceVersion() == null ? -1
                    : Long.parseLong(app.getMetadata().getResourceVersion());
        } catch (NumberFormatException e) {
            return -1;
        }
    }
}
