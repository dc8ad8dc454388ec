package dev.zdt.operator.reconcile;

import dev.zdt.operator.kube.EventRecorder;
import java.time.Duration;
import java.time.Instant;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Arrays;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

import org.jboss.logging.Logger;

import dev.zdt.operator.Constants;
import dev.zdt.operator.api.InvalidSpecException;
import dev.zdt.operator.ingress.IngressPolicy;
import dev.zdt.operator.api.v1alpha1.ZeroDowntimeApp;
import dev.zdt.operator.api.v1alpha1.ZeroDowntimeAppStatus;
import dev.zdt.operator.budget.DrainBudget;
import dev.zdt.operator.pod.GateUnavailableException;
import dev.zdt.operator.watch.ManagedPods;
import dev.zdt.operator.watch.StatusNudges;
import io.fabric8.kubernetes.api.model.Condition;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.fabric8.kubernetes.client.dsl.base.PatchContext;
import io.fabric8.kubernetes.client.dsl.base.PatchType;
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
@Workflow(dependents = {
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

    /** How soon a pass whose Warning the API server refused tries again, the first time. */
    static final Duration EVENT_RETRY = Duration.ofSeconds(10);
    /** The longest pause between tries: the periodic pass comes every 2 minutes anyway. */
    static final Duration EVENT_RETRY_MAX = Duration.ofMinutes(2);
    /** How many apps' refused Warnings are remembered; past that the oldest is forgotten (one Event lost, no leak). */
    private static final int OWED_LIMIT = 1_000;

    private final EventRecorder events;
    /** This replica's status writes the informer has not caught up with yet. */
    private final WrittenStatuses written = new WrittenStatuses();
    /** Per app uid, the Warning the API server refused, to be written again. */
    private final Map<String, Owed> owedWarnings = Collections.synchronizedMap(
            new LinkedHashMap<>(16, 0.75f, false) {
                @Override
                protected boolean removeEldestEntry(Map.Entry<String, Owed> eldest) {
                    return size() > OWED_LIMIT;
                }
            });
    private final IngressPolicy ingressPolicy;
    private final ManagedPods managedPods;
    private final StatusNudges nudges;

    public ZeroDowntimeAppReconciler(EventRecorder events, IngressPolicy ingressPolicy, ManagedPods managedPods,
            StatusNudges nudges) {
        this.events = events;
        this.ingressPolicy = ingressPolicy;
        this.managedPods = managedPods;
        this.nudges = nudges;
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
        ZeroDowntimeApp app = nudges.freshest(written.freshest(cached));
        DrainBudget budget = DrainBudget.of(app);
        // A front end the operator may not ask would hold every drain to its bound: refuse it up front.
        ingressPolicy.refusal(app.getSpec().getTraffic()).ifPresent(why -> {
            throw new InvalidSpecException(why);
        });
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
        writeStatus(app, status, context);
        return retry != null ? UpdateControl.<ZeroDowntimeApp>noUpdate().rescheduleAfter(retry) : UpdateControl.noUpdate();
    }

    @Override
    public ErrorStatusUpdateControl<ZeroDowntimeApp> updateErrorStatus(ZeroDowntimeApp cached,
            Context<ZeroDowntimeApp> context, Exception e) {
        ZeroDowntimeApp app = written.freshest(cached);
        Throwable cause = rootOf(e, InvalidSpecException.class, GateUnavailableException.class);
        StatusAggregator aggregator = new StatusAggregator(app, Instant.now());
        if (cause instanceof InvalidSpecException) {
            ZeroDowntimeAppStatus status = aggregator.invalid("InvalidSpec", cause.getMessage());
            Duration retry = warnOnNewDegradation(app, status);
            // Retrying cannot fix the spec; the next edit triggers a new reconcile.
            writeStatus(app, status, context);
            return owing(ErrorStatusUpdateControl.<ZeroDowntimeApp>noStatusUpdate().withNoRetry(), retry);
        }
        List<String> conflicts = all(e, ChildConflictException.class).stream().map(Throwable::getMessage).sorted().toList();
        if (!conflicts.isEmpty()) {
            ZeroDowntimeAppStatus status = aggregator.invalid("ChildConflict", String.join("; ", conflicts));
            Duration retry = warnOnNewDegradation(app, status);
            // Retrying cannot remove the other object; the periodic pass and the next edit look again.
            writeStatus(app, status, context);
            return owing(ErrorStatusUpdateControl.<ZeroDowntimeApp>noStatusUpdate().withNoRetry(), retry);
        }
        if (cause instanceof GateUnavailableException) {
            ZeroDowntimeAppStatus status = aggregator.invalid("GateUnavailable", cause.getMessage());
            warnOnNewDegradation(app, status); // JOSDK's retry of this error brings an owed Warning back
            writeStatus(app, status, context);
            return ErrorStatusUpdateControl.noStatusUpdate();
        }
        LOG.warnf(e, "reconcile of %s/%s failed", app.getMetadata().getNamespace(), app.getMetadata().getName());
        String message = Optional.ofNullable(e.getMessage()).orElse(e.getClass().getSimpleName());
        ZeroDowntimeAppStatus status = aggregator.invalid(conflict(e) ? "ChildConflict" : "ReconcileError", message);
        warnOnNewDegradation(app, status); // as above, retried
        writeStatus(app, status, context);
        return ErrorStatusUpdateControl.noStatusUpdate();
    }

    /**
     * Server-side apply of the status, written here rather than returned as
     * {@code UpdateControl.patchStatus}: JOSDK 5.3.2 defers the app's events while it patches the
     * status and then keeps only the newest, so a spec change that lands during that window is
     * dropped as if it were the operator's own write (a second apply would wait for the 2-minute
     * periodic pass). Our own status write needs no filtering: it does not change the
     * generation, and generation-aware event filtering skips it. What the API server returns is
     * remembered in {@link #written} until the informer's copy catches up.
     */
    private void writeStatus(ZeroDowntimeApp app, ZeroDowntimeAppStatus status, Context<ZeroDowntimeApp> context) {
        if (unchanged(app.getStatus(), status)) {
            return;
        }
        if (LOG.isDebugEnabled()) { // what keeps an app's status moving (the scale benchmark turns this on)
            String name = app.getMetadata().getNamespace() + "/" + app.getMetadata().getName();
            LOG.debugf("status of %s written, changed: %s", name, changedFields(app.getStatus(), status));
            conditionChanges(app.getStatus(), status).forEach(change -> LOG.debugf("condition of %s: %s", name, change));
        }
        try {
            written.wrote(context.getClient().resource(withStatus(app, status)).subresource("status")
                    .patch(new PatchContext.Builder().withPatchType(PatchType.SERVER_SIDE_APPLY)
                            .withFieldManager(context.getControllerConfiguration().fieldManager())
                            .withForce(true).build()));
        } catch (KubernetesClientException e) {
            if (e.getCode() != 404) { // deleted meanwhile: nothing to report on
                throw e;
            }
        }
    }

    /**
     * The status this reconciler would write is the one the app already has (from the informer's
     * copy): a write would change nothing but cost a request, and the 2-minute periodic pass made
     * one for every app (issue 18: 0.8 writes/s at 100 apps, idle). Condition times are kept by
     * {@link StatusAggregator} while a condition's status stays, so an unchanged status compares
     * equal. {@code lastDrains} and {@code observedPropagation} are the drain reporter's and left out of the comparison. A stale
     * copy can only cause a write that was not needed, never skip one: the copy differs then.
     */
    static boolean unchanged(ZeroDowntimeAppStatus current, ZeroDowntimeAppStatus next) {
        if (current == null) {
            return false;
        }
        return ownFields(current).equals(ownFields(next));
    }

    /**
     * The status fields (and condition types) that differ between the copy the reconciler saw and
     * the status it writes, e.g. {@code [conditions Ready, readyReplicas]}; {@code [all]} without a copy.
     */
    static List<String> changedFields(ZeroDowntimeAppStatus current, ZeroDowntimeAppStatus next) {
        if (current == null) {
            return List.of("all");
        }
        com.fasterxml.jackson.databind.JsonNode before = ownFields(current);
        com.fasterxml.jackson.databind.JsonNode after = ownFields(next);
        java.util.SortedSet<String> names = new java.util.TreeSet<>();
        before.fieldNames().forEachRemaining(names::add);
        after.fieldNames().forEachRemaining(names::add);
        List<String> changed = new java.util.ArrayList<>();
        for (String name : names) {
            if (Objects.equals(before.get(name), after.get(name))) {
                continue;
            }
            if ("conditions".equals(name)) {
                java.util.SortedSet<String> types = new java.util.TreeSet<>();
                for (com.fasterxml.jackson.databind.JsonNode side : List.of(before, after)) {
                    side.path(name).forEach(c -> types.add(c.path("type").asText()));
                }
                types.removeIf(t -> conditionNode(before, t).equals(conditionNode(after, t)));
                changed.add("conditions " + String.join(" ", types));
            } else {
                changed.add(name);
            }
        }
        return changed;
    }

    /**
     * Each condition that changed, as {@code Ready True/Available "msg" since T -> False/...}: what
     * the debug line above does not say (the scale run's idle writes at 1,000 apps).
     */
    static List<String> conditionChanges(ZeroDowntimeAppStatus current, ZeroDowntimeAppStatus next) {
        List<String> changes = new java.util.ArrayList<>();
        if (current == null) {
            return changes;
        }
        for (Condition after : Optional.ofNullable(next.getConditions()).orElse(List.of())) {
            Condition before = find(current, after.getType());
            if (!Objects.equals(before, after)) {
                changes.add(after.getType() + " " + describe(before) + " -> " + describe(after));
            }
        }
        return changes;
    }

    private static String describe(Condition c) {
        return c == null ? "(none)"
                : c.getStatus() + "/" + c.getReason() + " \"" + c.getMessage() + "\" since " + c.getLastTransitionTime();
    }

    private static com.fasterxml.jackson.databind.JsonNode conditionNode(com.fasterxml.jackson.databind.JsonNode status,
            String type) {
        for (com.fasterxml.jackson.databind.JsonNode c : status.path("conditions")) {
            if (type.equals(c.path("type").asText())) {
                return c;
            }
        }
        return com.fasterxml.jackson.databind.node.MissingNode.getInstance();
    }

    private static com.fasterxml.jackson.databind.JsonNode ownFields(ZeroDowntimeAppStatus status) {
        com.fasterxml.jackson.databind.node.ObjectNode tree = io.fabric8.kubernetes.client.utils.Serialization
                .jsonMapper().valueToTree(status);
        tree.remove("lastDrains");
        tree.remove("observedPropagation");
        return tree;
    }

    /** A pass that still owes a Warning comes back after {@code retry} instead of the periodic interval. */
    private static ErrorStatusUpdateControl<ZeroDowntimeApp> owing(ErrorStatusUpdateControl<ZeroDowntimeApp> control,
            Duration retry) {
        return retry != null ? control.rescheduleAfter(retry) : control;
    }

    /** A Warning the API server refused, and how many times in a row. */
    private record Owed(String warning, int refusals) {
    }

    /**
     * The pause before the next try after {@code refusals} refusals in a row: 10 s, doubling, at
     * most 2 minutes, so a refusal that lasts (an admission policy, missing RBAC) costs one request
     * per app per 2 minutes, not one per 10 s. Pure.
     */
    static Duration retryAfter(int refusals) {
        long seconds = EVENT_RETRY.toSeconds() << Math.min(Math.max(refusals, 1) - 1, 10);
        return Duration.ofSeconds(Math.min(seconds, EVENT_RETRY_MAX.toSeconds()));
    }

    /**
     * One Event per new reason or message, not one per reconcile. The status is written whether or
     * not the Event was, so a refused Event (a timeout, a quota, an API server under load) would
     * otherwise never be written: the next pass finds the same condition in the status and takes
     * it as announced. Such a Warning is remembered here and written again on a later pass.
     *
     * @return when to try again while the Warning for the current degradation is still owed, else null
     */
    Duration warnOnNewDegradation(ZeroDowntimeApp app, ZeroDowntimeAppStatus status) {
        String uid = app.getMetadata().getUid();
        Condition now = find(status, StatusAggregator.DEGRADED);
        if (now == null || !"True".equals(now.getStatus())) {
            owedWarnings.remove(uid);
            return null;
        }
        String warning = now.getReason() + "\n" + now.getMessage();
        Owed owed = owedWarnings.get(uid);
        boolean stillOwed = owed != null && owed.warning().equals(warning);
        Condition before = app.getStatus() == null ? null : find(app.getStatus(), StatusAggregator.DEGRADED);
        if (before != null && Objects.equals(before.getReason(), now.getReason())
                && Objects.equals(before.getMessage(), now.getMessage()) && !stillOwed) {
            return null;
        }
        if (events.warning(app, now.getReason(), now.getMessage())) {
            owedWarnings.remove(uid);
            return null;
        }
        int refusals = stillOwed ? owed.refusals() + 1 : 1;
        owedWarnings.put(uid, new Owed(warning, refusals));
        return retryAfter(refusals);
    }

    private static Condition find(ZeroDowntimeAppStatus status, String type) {
        return status.getConditions() == null ? null
                : status.getConditions().stream().filter(c -> type.equals(c.getType())).findFirst().orElse(null);
    }

    // Server-side apply of the status: send only what this reconciler owns (docs/design.md, "Who writes the status").
    static ZeroDowntimeApp withStatus(ZeroDowntimeApp app, ZeroDowntimeAppStatus status) {
        ZeroDowntimeApp fresh = new ZeroDowntimeApp();
        fresh.setMetadata(new ObjectMetaBuilder()
                .withName(app.getMetadata().getName())
                .withNamespace(app.getMetadata().getNamespace())
                .build());
        fresh.setStatus(status);
        return fresh;
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
