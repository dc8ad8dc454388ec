package dev.zdt.operator.reconcile;

import java.net.HttpURLConnection;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.stream.Collectors;

import jakarta.inject.Inject;

import dev.zdt.operator.api.v1alpha1.ZeroDowntimeApp;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.OwnerReferenceBuilder;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.javaoperatorsdk.operator.api.reconciler.Context;
import io.javaoperatorsdk.operator.api.reconciler.dependent.ReconcileResult;
import io.javaoperatorsdk.operator.processing.dependent.kubernetes.CRUDKubernetesDependentResource;

/**
 * A child of a ZeroDowntimeApp: applied with server-side apply and owned by the app as its
 * controller, so `kubectl describe` shows "Controlled By" and deleting the app collects it.
 *
 * <p>Only an object the app controls (a controller ownerReference to the app's uid) is ever
 * updated or deleted. An object of the same name that something else made is left unchanged and
 * reported as a {@link ChildConflictException}: JOSDK creates with server-side apply and a
 * resourceVersion precondition, so the API server refuses to create over it (409), and an object
 * its informer maps to the app by an ownerReference's name (left over from an earlier app of the
 * same name) is checked by uid before any update.
 *
 * <p>A child is rendered and compared only when something it is made from could have changed:
 * most reconciles come from the app's pods (every pod change is an event of the app), and a pod
 * changes no child. After each apply or comparison the child's resourceVersion is kept with the
 * app's generation and {@link #inputs} (what else the child is made from); while all three are the
 * same, the child is left as it is without rendering it again (issue 18: rendering and JOSDK's
 * server-side-apply comparison were a third of the leader's CPU at 100 apps). Any change to the
 * child (an edit, a status update, a deletion), to the app's spec or to the inputs compares it
 * again, as does every reconcile after a restart or a change of leader.
 */
abstract class OwnedDependent<R extends HasMetadata> extends CRUDKubernetesDependentResource<R, ZeroDowntimeApp> {

    /** Entries of deleted apps tolerated before they are looked for. */
    static final int FORGET_SLACK = 64;

    /** What a child was last compared against, by app uid. */
    private final Map<String, Compared> compared = new ConcurrentHashMap<>();
    private Counter rendered;
    private Counter unchanged;

    OwnedDependent(Class<R> type) {
        super(type);
    }

    @Inject
    void metrics(MeterRegistry registry) {
        String kind = resourceType().getSimpleName();
        rendered = Counter.builder("zdt.children.checks").description(
                "Reconciles of an app's child: rendered and compared with the API server's copy, or left as it was because nothing it is made from changed")
                .tag("kind", kind).tag("result", "compared").register(registry);
        unchanged = Counter.builder("zdt.children.checks").description(
                "Reconciles of an app's child: rendered and compared with the API server's copy, or left as it was because nothing it is made from changed")
                .tag("kind", kind).tag("result", "unchanged").register(registry);
    }

    /**
     * What the child is made from besides the app's spec and identity, e.g. the gate token a
     * Deployment's hook carries. Compared by {@code equals}; null when nothing else.
     */
    protected Object inputs(ZeroDowntimeApp app, Context<ZeroDowntimeApp> context) {
        return null;
    }

    @Override
    protected void addReferenceHandlingMetadata(R target, ZeroDowntimeApp app) {
        target.getMetadata().setOwnerReferences(List.of(new OwnerReferenceBuilder()
                .withApiVersion(app.getApiVersion())
                .withKind(app.getKind())
                .withName(app.getMetadata().getName())
                .withUid(app.getMetadata().getUid())
                .withController(true)
                .withBlockOwnerDeletion(true)
                .build()));
    }

    @Override
    protected ReconcileResult<R> reconcile(ZeroDowntimeApp app, R actual, Context<ZeroDowntimeApp> context) {
        if (actual != null && !controlledBy(actual, app)) {
            throw new ChildConflictException(actual.getKind(), actual, app.getMetadata().getName());
        }
        String uid = app.getMetadata().getUid();
        Object inputs = inputs(app, context);
        Long generation = app.getMetadata().getGeneration();
        Compared last = compared.get(uid);
        if (actual != null && last != null && last.sameAs(generation, inputs, actual.getMetadata().getResourceVersion())) {
            count(unchanged);
            return ReconcileResult.noOperation(actual);
        }
        count(rendered);
        compared.remove(uid);
        long times = last == null ? 1 : last.times() + 1;
        ReconcileResult<R> result = super.reconcile(app, actual, context);
        result.getSingleResource().ifPresent(child -> compared.put(uid,
                new Compared(generation, inputs, child.getMetadata().getResourceVersion(), times)));
        forgetDeletedApps(context);
        return result;
    }

    /** Apps that are gone leave no entry behind for long: dropped when they are a few more than the apps. */
    private void forgetDeletedApps(Context<ZeroDowntimeApp> context) {
        var apps = context.getPrimaryCache();
        if (compared.size() <= FORGET_SLACK || compared.size() <= apps.list().count() + FORGET_SLACK) {
            return;
        }
        Set<String> live = apps.list().map(a -> a.getMetadata().getUid()).collect(Collectors.toSet());
        compared.keySet().retainAll(live);
    }

    private static void count(Counter counter) {
        if (counter != null) {
            counter.increment();
        }
    }

    /** How many times this app's child was rendered and compared (since this replica reconciles it); 0 if never. */
    long comparisons(String appUid) {
        Compared c = compared.get(appUid);
        return c == null ? 0 : c.times();
    }

    /**
     * The app's generation, the other inputs, and the child's resourceVersion after the last
     * comparison; {@code times} counts the comparisons, for tests and nothing else.
     */
    private record Compared(Long generation, Object inputs, String resourceVersion, long times) {
        boolean sameAs(Long generation, Object inputs, String resourceVersion) {
            return Objects.equals(this.generation, generation) && Objects.equals(this.inputs, inputs)
                    && Objects.equals(this.resourceVersion, resourceVersion);
        }
    }

    @Override
    public R create(R desired, ZeroDowntimeApp app, Context<ZeroDowntimeApp> context) {
        try {
            return super.create(desired, app, context);
        } catch (KubernetesClientException e) {
            if (e.getCode() != HttpURLConnection.HTTP_CONFLICT) {
                throw e;
            }
            // Not in the informer's view (no label of ours, or no owner): read it once to say whose it is.
            R existing = context.getClient().resource(desired).get();
            if (existing == null || controlledBy(existing, app)) {
                throw e;
            }
            throw new ChildConflictException(desired.getKind(), existing, app.getMetadata().getName());
        }
    }

    @Override
    protected void handleDelete(ZeroDowntimeApp app, R actual, Context<ZeroDowntimeApp> context) {
        if (actual != null && controlledBy(actual, app)) {
            super.handleDelete(app, actual, context);
        }
    }

    static boolean controlledBy(HasMetadata child, ZeroDowntimeApp app) {
        return child.getMetadata().getOwnerReferences().stream()
                .anyMatch(o -> Boolean.TRUE.equals(o.getController()) && app.getMetadata().getUid().equals(o.getUid()));
    }
}
