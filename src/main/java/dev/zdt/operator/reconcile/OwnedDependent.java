package dev.zdt.operator.reconcile;

import java.net.HttpURLConnection;
import java.util.List;

import dev.zdt.operator.api.v1alpha1.ZeroDowntimeApp;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.OwnerReferenceBuilder;
import io.fabric8.kubernetes.client.KubernetesClientException;
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
 */
abstract class OwnedDependent<R extends HasMetadata> extends CRUDKubernetesDependentResource<R, ZeroDowntimeApp> {

    OwnedDependent(Class<R> type) {
        super(type);
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
        return super.reconcile(app, actual, context);
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
