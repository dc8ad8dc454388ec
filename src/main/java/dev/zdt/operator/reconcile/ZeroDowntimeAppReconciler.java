package dev.zdt.operator.reconcile;

import java.time.Duration;
import java.time.Instant;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

import org.jboss.logging.Logger;

import dev.zdt.operator.Constants;
import dev.zdt.operator.api.InvalidSpecException;
import dev.zdt.operator.api.v1alpha1.ZeroDowntimeApp;
import dev.zdt.operator.api.v1alpha1.ZeroDowntimeAppStatus;
import dev.zdt.operator.budget.DrainBudget;
import dev.zdt.operator.ingress.IngressPolicy;
import dev.zdt.operator.kube.EventRecorder;
import dev.zdt.operator.pod.DrainHelperConfig;
import dev.zdt.operator.pod.GateUnavailableException;
import dev.zdt.operator.status.StatusPath;
import dev.zdt.operator.status.Validated;
import dev.zdt.operator.watch.ManagedPods;
import dev.zdt.operator.watch.StatusNudges;
import io.fabric8.kubernetes.api.model.Condition;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.javaoperatorsdk.operator.AggregatedOperatorException;
import io.javaoperatorsdk.operator.api.reconciler.Context;
import io.javaoperatorsdk.operator.api.reconciler.ControllerConfiguration;
import io.javaoperatorsdk.operator.api.reconciler.ErrorStatusUpdateControl;
import io.javaoperatorsdk.operator.api.reconciler.EventSourceContext;
import io.javaoperatorsdk.operator.api.reconciler.MaxReconciliationInterval;
import io.javaoperatorsdk.operator.api.reconciler.Reconciler;
import io.javaoperatorsdk.operator.api.reconciler.UpdateControl;
import io.javaoperatorsdk.operator.api.reconciler.Workflow;
import io.javaoperatorsdk.operator.api.reconciler.dependent.Dependent;
import io.javaoperatorsdk.operator.processing.event.source.EventSource;
import io.quarkiverse.operatorsdk.annotations.RBACRule;

/**
 * Turns a ZeroDowntimeApp into its Deployment, Service, Ingress or HTTPRoute and PodDisruptionBudget (managed
 * dependents, server-side apply) and reports one aggregated status.
 */
// A periodic pass besides the events: drift that slipped past an informer is reverted within minutes.
@ControllerConfiguration(name = ZeroDowntimeAppReconciler.NAME,
        maxReconciliationInterval = @MaxReconciliationInterval(interval = 2, timeUnit = TimeUnit.MINUTES))
// Explicit: the validation step runs before any child is applied (see reconcile).
@Workflow(explicitInvocation = true, dependents = {
        @Dependent(name = "deployment", type = DeploymentDependent.class),
        @Dependent(name = "service", type = ServiceDependent.class),
        @Dependent(name = "ingress", type = IngressDependent.class, reconcilePrecondition = IngressRequested.class),
        @Dependent(name = "httproute", type = HTTPRouteDependent.class, reconcilePrecondition = RouteRequested.class,
                activationCondition = GatewayApiPresent.class),
        @Dependent(name = "pdb", type = PodDisruptionBudgetDependent.class)
})
// Pods: count draining pods and hold the gate; EndpointSlices: the gate's view of rotation.
@RBACRule(apiGroups = "", resources = "pods", verbs = { "get", "list", "watch" })
// Warm-in: the zdt.dev/in-rotation condition on new pods of gate- and exec-mode apps, nothing else.
@RBACRule(apiGroups = "", resources = "pods/status", verbs = { "patch" })
@RBACRule(apiGroups = "discovery.k8s.io", resources = "endpointslices", verbs = { "get", "list", "watch" })
// Events for invalid specs, conflicts and drains that hit their bound.
@RBACRule(apiGroups = "events.k8s.io", resources = "events", verbs = { "create" })
public class ZeroDowntimeAppReconciler implements Reconciler<ZeroDowntimeApp> {

    public static final String NAME = "zerodowntimeapp";
    private static final Logger LOG = Logger.getLogger(ZeroDowntimeAppReconciler.class);

    /** The status path: unchanged statuses not written, writes remembered, refused Warnings owed. */
    private final StatusPath<ZeroDowntimeApp, ZeroDowntimeAppStatus> statusPath;
    private final IngressPolicy ingressPolicy;
    private final DrainHelperConfig drainHelper;
    private final ManagedPods managedPods;
    private final StatusNudges nudges;

    public ZeroDowntimeAppReconciler(EventRecorder events, IngressPolicy ingressPolicy, DrainHelperConfig drainHelper,
            ManagedPods managedPods, StatusNudges nudges) {
        this.statusPath = statusPath(events);
        this.ingressPolicy = ingressPolicy;
        this.drainHelper = drainHelper;
        this.managedPods = managedPods;
        this.nudges = nudges;
    }

    /**
     * The app's status path: {@code lastDrains} and {@code observedPropagation} are the drain
     * reporter's (docs/design.md, "Who writes the status"), never sent and never a reason to write;
     * a remembered write takes {@code lastDrains} from the cached copy.
     */
    public static StatusPath<ZeroDowntimeApp, ZeroDowntimeAppStatus> statusPath(EventRecorder events) {
        return new StatusPath<>(ZeroDowntimeApp::new, events,
                (cached, remembered) -> remembered.setLastDrains(cached.getLastDrains()),
                "lastDrains", "observedPropagation");
    }

    @Override
    public List<EventSource<?, ZeroDowntimeApp>> prepareEventSources(EventSourceContext<ZeroDowntimeApp> context) {
        // An app's pods come from the pod cache the drain gate keeps (one copy per replica, not two).
        var pods = new AppPods(managedPods,
                context.getControllerConfiguration().getConfigurationService().cacheSyncTimeout());
        return List.of(pods, new StatusNudged(nudges));
    }

    @Override
    public UpdateControl<ZeroDowntimeApp> reconcile(ZeroDowntimeApp cached, Context<ZeroDowntimeApp> context) {
        // The gate's measured propagation as this replica last wrote it, should the cache lag behind.
        ZeroDowntimeApp app = nudges.freshest(statusPath.freshest(cached));
        // The validation step: every spec check, before any child is applied.
        Validated<DrainBudget> validated = AppValidation.check(app, ingressPolicy, drainHelper);
        if (!validated.valid()) {
            ZeroDowntimeAppStatus status = new StatusAggregator(app, Instant.now()).invalid("InvalidSpec", validated.message());
            Duration retry = warnOnNewDegradation(app, status);
            // Retrying cannot fix the spec; the next edit triggers a new reconcile.
            statusPath.write(app, status, context);
            return retry != null ? UpdateControl.<ZeroDowntimeApp>noUpdate().rescheduleAfter(retry) : UpdateControl.noUpdate();
        }
        DrainBudget budget = validated.value();
        // The children (explicit invocation): only a valid spec gets here.
        context.managedWorkflowAndDependentResourceContext().reconcileManagedWorkflow()
                .throwAggregateExceptionIfErrorsPresent();
        Optional<Deployment> deployment = context.getSecondaryResource(Deployment.class);
        List<Pod> pods = context.getSecondaryResourcesAsStream(Pod.class)
                .filter(p -> app.getMetadata().getName().equals(p.getMetadata().getLabels().get(Constants.APP_LABEL)))
                .toList();
        StatusAggregator aggregator = new StatusAggregator(app, Instant.now());
        if (app.getSpec().getRoute() != null && !GatewayApiPresent.served(context.getClient())) {
            aggregator.routeUnavailable("spec.route is set but this cluster serves no Gateway API "
                    + "(gateway.networking.k8s.io/v1 httproutes): no HTTPRoute was created, so nothing routes to the app "
                    + "through a Gateway; install the Gateway API standard CRDs, or use spec.ingress");
        }
        ZeroDowntimeAppStatus status = aggregator.from(budget, deployment, pods);
        Duration retry = warnOnNewDegradation(app, status);
        statusPath.write(app, status, context);
        return retry != null ? UpdateControl.<ZeroDowntimeApp>noUpdate().rescheduleAfter(retry) : UpdateControl.noUpdate();
    }

    @Override
    public ErrorStatusUpdateControl<ZeroDowntimeApp> updateErrorStatus(ZeroDowntimeApp cached,
            Context<ZeroDowntimeApp> context, Exception e) {
        ZeroDowntimeApp app = statusPath.freshest(cached);
        Throwable cause = rootOf(e, InvalidSpecException.class, GateUnavailableException.class);
        StatusAggregator aggregator = new StatusAggregator(app, Instant.now());
        // A check the validation step missed, found while rendering a child: reported the same way.
        if (cause instanceof InvalidSpecException) {
            ZeroDowntimeAppStatus status = aggregator.invalid("InvalidSpec", cause.getMessage());
            Duration retry = warnOnNewDegradation(app, status);
            // Retrying cannot fix the spec; the next edit triggers a new reconcile.
            statusPath.write(app, status, context);
            return owing(ErrorStatusUpdateControl.<ZeroDowntimeApp>noStatusUpdate().withNoRetry(), retry);
        }
        List<String> conflicts = all(e, ChildConflictException.class).stream().map(Throwable::getMessage).sorted().toList();
        if (!conflicts.isEmpty()) {
            ZeroDowntimeAppStatus status = aggregator.invalid("ChildConflict", String.join("; ", conflicts));
            Duration retry = warnOnNewDegradation(app, status);
            // Retrying cannot remove the other object; the periodic pass and the next edit look again.
            statusPath.write(app, status, context);
            return owing(ErrorStatusUpdateControl.<ZeroDowntimeApp>noStatusUpdate().withNoRetry(), retry);
        }
        if (cause instanceof GateUnavailableException) {
            ZeroDowntimeAppStatus status = aggregator.invalid("GateUnavailable", cause.getMessage());
            warnOnNewDegradation(app, status); // JOSDK's retry of this error brings an owed Warning back
            statusPath.write(app, status, context);
            return ErrorStatusUpdateControl.noStatusUpdate();
        }
        LOG.warnf(e, "reconcile of %s/%s failed", app.getMetadata().getNamespace(), app.getMetadata().getName());
        String message = Optional.ofNullable(e.getMessage()).orElse(e.getClass().getSimpleName());
        ZeroDowntimeAppStatus status = aggregator.invalid(conflict(e) ? "ChildConflict" : "ReconcileError", message);
        warnOnNewDegradation(app, status); // as above, retried
        statusPath.write(app, status, context);
        return ErrorStatusUpdateControl.noStatusUpdate();
    }

    /**
     * The Degraded condition's Warning: one per new reason or message, and one the API server
     * refused written again on a later pass.
     *
     * @return when to try again while the Warning for the current degradation is still owed, else null
     */
    Duration warnOnNewDegradation(ZeroDowntimeApp app, ZeroDowntimeAppStatus status) {
        Condition now = StatusPath.find(status.getConditions(), StatusAggregator.DEGRADED);
        Condition before = app.getStatus() == null ? null
                : StatusPath.find(app.getStatus().getConditions(), StatusAggregator.DEGRADED);
        return statusPath.warn(app, before, now != null && "True".equals(now.getStatus()) ? now : null,
                c -> c.getReason() + "\n" + c.getMessage());
    }

    /** A pass that still owes a Warning comes back after {@code retry} instead of the periodic interval. */
    private static ErrorStatusUpdateControl<ZeroDowntimeApp> owing(ErrorStatusUpdateControl<ZeroDowntimeApp> control,
            Duration retry) {
        return retry != null ? control.rescheduleAfter(retry) : control;
    }

    private static boolean conflict(Throwable e) {
        Throwable found = rootOf(e, KubernetesClientException.class);
        return found instanceof KubernetesClientException k && k.getCode() == 409;
    }

    /** The first of the given types in the cause chain, looking inside the workflow's aggregated errors. */
    @SafeVarargs
    static Throwable rootOf(Throwable e, Class<? extends Throwable>... types) {
        return find(e, types).orElse(e);
    }

    /** Every throwable of the type in the cause chain and the workflow's aggregated errors, in order. */
    static List<Throwable> all(Throwable e, Class<? extends Throwable> type) {
        List<Throwable> found = new java.util.ArrayList<>();
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (type.isInstance(t)) {
                found.add(t);
                return found;
            }
            if (t instanceof AggregatedOperatorException aggregated) {
                aggregated.getAggregatedExceptions().values().forEach(inner -> found.addAll(all(inner, type)));
                return found;
            }
        }
        return found;
    }

    @SafeVarargs
    private static Optional<Throwable> find(Throwable e, Class<? extends Throwable>... types) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            Throwable current = t;
            if (Arrays.stream(types).anyMatch(type -> type.isInstance(current))) {
                return Optional.of(t);
            }
            if (t instanceof AggregatedOperatorException aggregated) {
                for (Exception inner : aggregated.getAggregatedExceptions().values()) {
                    Optional<Throwable> found = find(inner, types);
                    if (found.isPresent()) {
                        return found;
                    }
                }
            }
        }
        return Optional.empty();
    }
}
