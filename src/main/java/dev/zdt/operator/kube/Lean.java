package dev.zdt.operator.kube;

import java.util.List;

import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.ContainerStatus;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodSpec;
import io.fabric8.kubernetes.api.model.PodStatus;
import io.fabric8.kubernetes.client.informers.cache.ItemStore;
import io.javaoperatorsdk.operator.processing.event.source.informer.TransformingItemStore;

/**
 * Informer caches without what the operator never reads. Every object loses
 * {@code metadata.managedFields}: each manager's field set is a tree of maps, several hundred per
 * pod (the scale benchmark's class histogram: 530,000 LinkedHashMaps for 1,000 pods cached twice).
 * A pod also keeps only the parts of its spec and status that the drain gate, warm-in and the
 * status read (see {@link #slim(Pod)}): at 10,000 pods the rest of the spec (volumes, mounts,
 * environment, probes, resources, security contexts, tolerations) was most of the live heap.
 * Not for the caches of the children the operator applies: JOSDK compares them by their managed
 * fields.
 */
public final class Lean {

    private Lean() {
    }

    /** A store for an informer that keeps each object without what the operator never reads. */
    public static <T extends HasMetadata> ItemStore<T> store() {
        return new TransformingItemStore<>(Lean::strip);
    }

    /** The same object without its managed fields, and for a pod {@link #slim(Pod)}. */
    public static <T extends HasMetadata> T strip(T object) {
        if (object.getMetadata() != null) {
            object.getMetadata().setManagedFields(null);
        }
        if (object instanceof Pod pod) {
            slim(pod);
        }
        return object;
    }

    /**
     * Keeps of a pod's spec the containers' and init containers' names (which pods carry the drain
     * helper: {@code policy/PolicyPods.isProtected}), its readiness gates (warm-in admits the pods
     * that wait for the in-rotation condition), its node and grace period; of its status the phase,
     * conditions (warm-in, readiness, scheduling trouble), addresses (the front end is asked by pod
     * IP) and each container's name, readiness, restarts and states (the status names a crash loop
     * or a failed pull with its reason, message and last exit code). Metadata stays whole: labels,
     * annotations (the hold), owners and the deletion timestamp are read.
     */
    static void slim(Pod pod) {
        PodSpec spec = pod.getSpec();
        if (spec != null) {
            PodSpec kept = new PodSpec();
            kept.setContainers(names(spec.getContainers()));
            kept.setInitContainers(names(spec.getInitContainers()));
            kept.setReadinessGates(spec.getReadinessGates());
            kept.setNodeName(spec.getNodeName());
            kept.setTerminationGracePeriodSeconds(spec.getTerminationGracePeriodSeconds());
            pod.setSpec(kept);
        }
        PodStatus status = pod.getStatus();
        if (status != null) {
            PodStatus kept = new PodStatus();
            kept.setPhase(status.getPhase());
            kept.setConditions(status.getConditions());
            kept.setPodIP(status.getPodIP());
            kept.setPodIPs(status.getPodIPs());
            kept.setStartTime(status.getStartTime());
            kept.setContainerStatuses(states(status.getContainerStatuses()));
            kept.setInitContainerStatuses(states(status.getInitContainerStatuses()));
            pod.setStatus(kept);
        }
    }

    private static List<Container> names(List<Container> containers) {
        if (containers == null) {
            return null;
        }
        return containers.stream().map(c -> {
            Container named = new Container();
            named.setName(c.getName());
            return named;
        }).toList();
    }

    private static List<ContainerStatus> states(List<ContainerStatus> statuses) {
        if (statuses == null) {
            return null;
        }
        return statuses.stream().map(s -> {
            ContainerStatus kept = new ContainerStatus();
            kept.setName(s.getName());
            kept.setReady(s.getReady());
            kept.setStarted(s.getStarted());
            kept.setRestartCount(s.getRestartCount());
            kept.setState(s.getState());
            kept.setLastState(s.getLastState());
            return kept;
        }).toList();
    }
}
