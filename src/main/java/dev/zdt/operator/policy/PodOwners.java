package dev.zdt.operator.policy;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import java.util.function.Supplier;

import dev.zdt.operator.api.v1alpha1.PodOwnerStatus;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.ObjectMeta;
import io.fabric8.kubernetes.api.model.OwnerReference;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.apps.ReplicaSet;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;

/**
 * The workloads that own a policy's pods and their minReadySeconds, which a pod cannot carry: Pod ->
 * ReplicaSet -> Deployment, Pod -> StatefulSet, Pod -> DaemonSet. Each owner is read once per pass; one
 * that cannot be read (gone, or forbidden in a namespaced install without the rule) or of another kind
 * is listed with an unknown minReadySeconds and a note, never an error.
 */
final class PodOwners {

    /** At most this many owners are listed in the status. */
    static final int LISTED = 10;

    private PodOwners() {
    }

    /** The distinct owners of the pods, those with too little minReadySeconds first, then the unknown ones. */
    static List<PodOwnerStatus> of(KubernetesClient client, String ns, List<Pod> pods, int needed) {
        Map<String, PodOwnerStatus> owners = new LinkedHashMap<>();
        Map<String, OwnerReference> replicaSetOwner = new HashMap<>();
        for (Pod pod : pods) {
            OwnerReference controller = controller(pod.getMetadata());
            PodOwnerStatus owner;
            if (controller == null) {
                owner = owners.computeIfAbsent("Pod/" + pod.getMetadata().getName(), k -> unknown("Pod",
                        pod.getMetadata().getName(), "no controller owns this pod, so nothing gives it minReadySeconds"));
            } else if (isApps(controller, "ReplicaSet")) {
                // The Deployment's minReadySeconds is the one that paces its rollouts; a bare ReplicaSet has its own.
                OwnerReference deployment = replicaSetOwner.computeIfAbsent(controller.getName(), rs -> {
                    ReplicaSet r = read(() -> client.apps().replicaSets().inNamespace(ns).withName(rs).get());
                    OwnerReference up = r == null ? null : controller(r.getMetadata());
                    return up != null && isApps(up, "Deployment") ? up : controller;
                });
                if (isApps(deployment, "Deployment")) {
                    owner = owners.computeIfAbsent("Deployment/" + deployment.getName(), k -> read("Deployment",
                            deployment.getName(), () -> client.apps().deployments().inNamespace(ns).withName(deployment.getName()).get(),
                            d -> d.getSpec().getMinReadySeconds()));
                } else {
                    owner = owners.computeIfAbsent("ReplicaSet/" + controller.getName(), k -> read("ReplicaSet",
                            controller.getName(), () -> client.apps().replicaSets().inNamespace(ns).withName(controller.getName()).get(),
                            r -> r.getSpec().getMinReadySeconds()));
                }
            } else if (isApps(controller, "StatefulSet")) {
                owner = owners.computeIfAbsent("StatefulSet/" + controller.getName(), k -> read("StatefulSet",
                        controller.getName(), () -> client.apps().statefulSets().inNamespace(ns).withName(controller.getName()).get(),
                        s -> s.getSpec().getMinReadySeconds()));
            } else if (isApps(controller, "DaemonSet")) {
                owner = owners.computeIfAbsent("DaemonSet/" + controller.getName(), k -> read("DaemonSet",
                        controller.getName(), () -> client.apps().daemonSets().inNamespace(ns).withName(controller.getName()).get(),
                        d -> d.getSpec().getMinReadySeconds()));
            } else {
                owner = owners.computeIfAbsent(controller.getKind() + "/" + controller.getName(), k -> unknown(
                        controller.getKind(), controller.getName(), "the operator does not read minReadySeconds of a "
                                + controller.getApiVersion() + " " + controller.getKind() + "; check it has enough"));
            }
            owner.setPods(owner.getPods() + 1);
        }
        List<PodOwnerStatus> sorted = new ArrayList<>(owners.values());
        for (PodOwnerStatus o : sorted) {
            o.setNeededMinReadySeconds(needed);
            if (needed <= 0) {
                o.setSufficient(true);
            } else if (o.getMinReadySeconds() != null) {
                o.setSufficient(o.getMinReadySeconds() >= needed);
            }
        }
        sorted.sort(Comparator.comparingInt(PodOwners::rank).thenComparing(PodOwnerStatus::getKind)
                .thenComparing(PodOwnerStatus::getName));
        return sorted;
    }

    /** Too little first, unknown next, enough last. */
    private static int rank(PodOwnerStatus o) {
        return Boolean.FALSE.equals(o.getSufficient()) ? 0 : o.getSufficient() == null ? 1 : 2;
    }

    private static OwnerReference controller(ObjectMeta meta) {
        return meta.getOwnerReferences() == null ? null
                : meta.getOwnerReferences().stream().filter(o -> Boolean.TRUE.equals(o.getController())).findFirst().orElse(null);
    }

    private static boolean isApps(OwnerReference ref, String kind) {
        return kind.equals(ref.getKind()) && ref.getApiVersion() != null && ref.getApiVersion().startsWith("apps/");
    }

    private static <T extends HasMetadata> PodOwnerStatus read(String kind, String name,
            Supplier<T> get, Function<T, Integer> minReady) {
        T owner;
        try {
            owner = get.get();
        } catch (KubernetesClientException e) {
            return unknown(kind, name, "cannot read it (HTTP " + e.getCode() + (e.getCode() == 403
                    ? ": the operator's role lacks get on " + kind.toLowerCase() + "s" : "") + ")");
        }
        if (owner == null) {
            return unknown(kind, name, "not found");
        }
        Integer value = minReady.apply(owner);
        PodOwnerStatus s = new PodOwnerStatus();
        s.setKind(kind);
        s.setName(name);
        s.setPods(0);
        s.setMinReadySeconds(value == null ? 0 : value);
        return s;
    }

    private static <T> T read(Supplier<T> get) {
        try {
            return get.get();
        } catch (KubernetesClientException e) {
            return null;
        }
    }

    private static PodOwnerStatus unknown(String kind, String name, String note) {
        PodOwnerStatus s = new PodOwnerStatus();
        s.setKind(kind);
        s.setName(name);
        s.setPods(0);
        s.setNote(note);
        return s;
    }

    /** The kubectl command that gives the owner the needed minReadySeconds. */
    static String patch(String ns, PodOwnerStatus o) {
        return "kubectl -n " + ns + " patch " + o.getKind().toLowerCase() + " " + o.getName()
                + " --type merge -p '{\"spec\":{\"minReadySeconds\":" + o.getNeededMinReadySeconds() + "}}'";
    }
}
