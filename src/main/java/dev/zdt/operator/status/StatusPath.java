package dev.zdt.operator.status;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.SortedSet;
import java.util.TreeSet;
import java.util.function.BiConsumer;
import java.util.function.Function;
import java.util.function.Supplier;

import org.jboss.logging.Logger;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.MissingNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import dev.zdt.operator.kube.EventRecorder;
import io.fabric8.kubernetes.api.model.Condition;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.fabric8.kubernetes.client.CustomResource;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.fabric8.kubernetes.client.dsl.base.PatchContext;
import io.fabric8.kubernetes.client.dsl.base.PatchType;
import io.fabric8.kubernetes.client.utils.Serialization;
import io.javaoperatorsdk.operator.api.reconciler.Context;

/**
 * How a reconciler writes the status of its custom resource, the same for ZeroDowntimeApp and
 * DrainPolicy: the resource as last written by this replica ({@link #freshest}), no write of a
 * status that changes nothing ({@link #write}), and a Warning the API server refused kept and
 * written again on a later pass ({@link #warn}).
 *
 * @param <R> the custom resource
 * @param <S> its status, with {@code conditions} and {@code observedGeneration}
 */
public final class StatusPath<R extends CustomResource<?, S>, S> {

    private static final Logger LOG = Logger.getLogger(StatusPath.class);

    /** How soon a pass whose Warning the API server refused tries again, the first time. */
    public static final Duration EVENT_RETRY = Duration.ofSeconds(10);
    /** The longest pause between tries: the periodic pass comes every 2 minutes anyway. */
    public static final Duration EVENT_RETRY_MAX = Duration.ofMinutes(2);
    /** How many resources' refused Warnings are remembered; past that the oldest is forgotten (one Event lost, no leak). */
    private static final int OWED_LIMIT = 1_000;

    private final Supplier<R> blank;
    private final EventRecorder events;
    private final Set<String> othersFields;
    /** This replica's status writes the informer has not caught up with yet. */
    private final WrittenStatuses<R, S> written;
    /** Per resource uid, the Warning the API server refused, to be written again. */
    private final Map<String, Owed> owedWarnings = Collections.synchronizedMap(
            new LinkedHashMap<>(16, 0.75f, false) {
                @Override
                protected boolean removeEldestEntry(Map.Entry<String, Owed> eldest) {
                    return size() > OWED_LIMIT;
                }
            });

    /**
     * @param blank a new, empty resource of the type, for the server-side apply
     * @param othersFromCache copies the status fields another writer owns from the cached status into a remembered one
     * @param othersFields those fields' names: never sent, never a reason to write
     */
    public StatusPath(Supplier<R> blank, EventRecorder events, BiConsumer<S, S> othersFromCache, String... othersFields) {
        this.blank = blank;
        this.events = events;
        this.othersFields = Set.of(othersFields);
        this.written = new WrittenStatuses<>(othersFromCache);
    }

    /** The resource as the reconciler should see it: the cached copy, or its status as this replica last wrote it. */
    public R freshest(R cached) {
        return written.freshest(cached);
    }

    /** Remembers {@code result}, the resource as the API server returned it from a status write. */
    void remember(R result) {
        written.wrote(result);
    }

    /** Resources with a write the informer has not been seen to catch up with. */
    public int remembered() {
        return written.size();
    }

    /**
     * Server-side apply of the status, unless it is the one the resource already has. Written by
     * the reconciler rather than returned as {@code UpdateControl.patchStatus}: JOSDK 5.3.2 defers
     * the resource's events while it patches the status and then keeps only the newest, so a spec
     * change that lands during that window would be dropped as if it were the operator's own write.
     * Our own status write needs no filtering: it does not change the generation, and
     * generation-aware event filtering skips it. What the API server returns is remembered until the
     * informer's copy catches up.
     */
    public void write(R resource, S status, Context<R> context) {
        if (unchanged(resource.getStatus(), status)) {
            return;
        }
        if (LOG.isDebugEnabled()) { // what keeps a status moving (the scale benchmark turns this on)
            String name = resource.getKind() + " " + resource.getMetadata().getNamespace() + "/"
                    + resource.getMetadata().getName();
            LOG.debugf("status of %s written, changed: %s", name, changedFields(resource.getStatus(), status));
            conditionChanges(resource.getStatus(), status).forEach(change -> LOG.debugf("condition of %s: %s", name, change));
        }
        try {
            remember(context.getClient().resource(withStatus(resource, status)).subresource("status")
                    .patch(new PatchContext.Builder().withPatchType(PatchType.SERVER_SIDE_APPLY)
                            .withFieldManager(context.getControllerConfiguration().fieldManager())
                            .withForce(true).build()));
        } catch (KubernetesClientException e) {
            if (e.getCode() != 404) { // deleted meanwhile: nothing to report on
                throw e;
            }
        }
    }

    /** What the server-side apply sends: name, namespace and this writer's status, nothing the reconciler does not own. */
    public R withStatus(R resource, S status) {
        R fresh = blank.get();
        fresh.setMetadata(new ObjectMetaBuilder()
                .withName(resource.getMetadata().getName())
                .withNamespace(resource.getMetadata().getNamespace())
                .build());
        fresh.setStatus(status);
        return fresh;
    }

    /**
     * The status the reconciler would write is the one the resource already has: a write would
     * change nothing but cost a request, and a periodic pass made one for every resource (issue 18:
     * 0.8 writes/s at 100 apps, idle). Condition times are kept while a condition's status stays, so
     * an unchanged status compares equal. The fields another writer owns are left out. A stale copy
     * can only cause a write that was not needed, never skip one: the copy differs then.
     */
    public boolean unchanged(S current, S next) {
        if (current == null) {
            return false;
        }
        return ownFields(current).equals(ownFields(next));
    }

    /**
     * The status fields (and condition types) that differ between the copy the reconciler saw and
     * the status it writes, e.g. {@code [conditions Ready, readyReplicas]}; {@code [all]} without a copy.
     */
    public List<String> changedFields(S current, S next) {
        if (current == null) {
            return List.of("all");
        }
        JsonNode before = ownFields(current);
        JsonNode after = ownFields(next);
        SortedSet<String> names = new TreeSet<>();
        before.fieldNames().forEachRemaining(names::add);
        after.fieldNames().forEachRemaining(names::add);
        List<String> changed = new ArrayList<>();
        for (String name : names) {
            if (Objects.equals(before.get(name), after.get(name))) {
                continue;
            }
            if ("conditions".equals(name)) {
                SortedSet<String> types = new TreeSet<>();
                for (JsonNode side : List.of(before, after)) {
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
    public List<String> conditionChanges(S current, S next) {
        List<String> changes = new ArrayList<>();
        if (current == null) {
            return changes;
        }
        JsonNode before = ownFields(current);
        for (JsonNode after : ownFields(next).path("conditions")) {
            JsonNode previous = conditionNode(before, after.path("type").asText());
            if (!previous.equals(after)) {
                changes.add(after.path("type").asText() + " " + describe(previous) + " -> " + describe(after));
            }
        }
        return changes;
    }

    private static String describe(JsonNode c) {
        return c.isMissingNode() ? "(none)"
                : text(c, "status") + "/" + text(c, "reason") + " \"" + text(c, "message") + "\" since "
                        + text(c, "lastTransitionTime");
    }

    private static String text(JsonNode c, String field) {
        return c.hasNonNull(field) ? c.get(field).asText() : "null";
    }

    private static JsonNode conditionNode(JsonNode status, String type) {
        for (JsonNode c : status.path("conditions")) {
            if (type.equals(c.path("type").asText())) {
                return c;
            }
        }
        return MissingNode.getInstance();
    }

    private JsonNode ownFields(S status) {
        ObjectNode tree = Serialization.jsonMapper().valueToTree(status);
        othersFields.forEach(tree::remove);
        return tree;
    }

    /** A Warning the API server refused, and how many times in a row. */
    private record Owed(String warning, int refusals) {
    }

    /**
     * The pause before the next try after {@code refusals} refusals in a row: 10 s, doubling, at
     * most 2 minutes, so a refusal that lasts (an admission policy, missing RBAC) costs one request
     * per resource per 2 minutes, not one per 10 s. Pure.
     */
    public static Duration retryAfter(int refusals) {
        long seconds = EVENT_RETRY.toSeconds() << Math.min(Math.max(refusals, 1) - 1, 10);
        return Duration.ofSeconds(Math.min(seconds, EVENT_RETRY_MAX.toSeconds()));
    }

    /**
     * One Warning per new announcement, not one per reconcile. The status is written whether or not
     * the Event was, so a refused Event (a timeout, a quota, an API server under load) would
     * otherwise never be written: the next pass finds the same condition in the status and takes it
     * as announced. Such a Warning is remembered here and written again on a later pass.
     *
     * @param before the condition as the resource's status has it, null if none
     * @param now the condition to warn of, null while nothing is wrong (a Warning still owed is forgotten then)
     * @param announcement what makes two conditions the same Warning (the app: reason and message; a policy: the reason)
     * @return when to try again while the Warning is still owed, else null
     */
    public Duration warn(R resource, Condition before, Condition now, Function<Condition, String> announcement) {
        String uid = resource.getMetadata().getUid();
        if (now == null) {
            owedWarnings.remove(uid);
            return null;
        }
        String warning = announcement.apply(now);
        Owed owed = owedWarnings.get(uid);
        boolean stillOwed = owed != null && owed.warning().equals(warning);
        if (before != null && warning.equals(announcement.apply(before)) && !stillOwed) {
            return null;
        }
        if (events.warning(resource, now.getReason(), now.getMessage())) {
            owedWarnings.remove(uid);
            return null;
        }
        int refusals = stillOwed ? owed.refusals() + 1 : 1;
        owedWarnings.put(uid, new Owed(warning, refusals));
        return retryAfter(refusals);
    }

    /** Whether a Warning for the resource waits to be written again. */
    public boolean owesWarning(R resource) {
        return owedWarnings.containsKey(resource.getMetadata().getUid());
    }

    /** The condition of that type in the list, or null. */
    public static Condition find(List<Condition> conditions, String type) {
        return conditions == null ? null
                : conditions.stream().filter(c -> type.equals(c.getType())).findFirst().orElse(null);
    }
}
