package dev.zdt.operator.reconcile;

import java.util.Set;

import dev.zdt.operator.api.v1alpha1.ZeroDowntimeApp;
import dev.zdt.operator.watch.StatusNudges;
import io.javaoperatorsdk.operator.processing.event.Event;
import io.javaoperatorsdk.operator.processing.event.ResourceID;
import io.javaoperatorsdk.operator.processing.event.source.AbstractEventSource;

/** Reconciles an app when the drain gate of this replica wrote its measured propagation ({@link StatusNudges}). */
final class StatusNudged extends AbstractEventSource<Void, ZeroDowntimeApp> {

    private final StatusNudges nudges;
    private boolean listening;

    StatusNudged(StatusNudges nudges) {
        super(Void.class, "status-nudges");
        this.nudges = nudges;
    }

    @Override
    public synchronized void start() {
        if (!listening) {
            listening = true;
            // The listener stays; after a stop, isRunning() silences it.
            nudges.listen((namespace, name) -> {
                if (isRunning()) {
                    getEventHandler().handleEvent(new Event(new ResourceID(name, namespace)));
                }
            });
        }
        super.start();
    }

    @Override
    public Set<Void> getSecondaryResources(ZeroDowntimeApp primary) {
        return Set.of();
    }
}
