package dev.zdt.operator.reconcile;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Set;
import java.util.stream.Stream;

import io.fabric8.kubernetes.api.model.ContainerStatus;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodCondition;

/**
 * Why a pod of the app does not start, as the kubelet and the scheduler report it: a container
 * waiting for a reason other than being created (ImagePullBackOff, ErrImagePull, CrashLoopBackOff,
 * CreateContainerConfigError, ...), or a pod the scheduler cannot place. Pure, from pod status.
 *
 * @param detail the kubelet's or scheduler's own message, which changes with every back-off step
 */
record PodTrouble(String pod, String what, String reason, String detail) {

    /** How many pods a message names before it says "and N more". */
    static final int NAMED = 3;
    /** Waiting reasons of a container on its normal way to running. */
    private static final Set<String> STARTING = Set.of("ContainerCreating", "PodInitializing");
    private static final int MAX_DETAIL = 200;

    /** The troubles of pods that are not terminating, one per pod (the first container that is stuck), by pod name. */
    static List<PodTrouble> of(List<Pod> pods) {
        List<PodTrouble> found = new ArrayList<>();
        pods.stream()
                .filter(p -> p.getMetadata().getDeletionTimestamp() == null && p.getStatus() != null)
                .sorted(Comparator.comparing((Pod p) -> p.getMetadata().getName()))
                .forEach(p -> troubleOf(p).ifPresent(found::add));
        return found;
    }

    private static java.util.Optional<PodTrouble> troubleOf(Pod p) {
        String name = p.getMetadata().getName();
        var status = p.getStatus();
        var waiting = Stream.concat(
                        orEmpty(status.getInitContainerStatuses()).stream().map(c -> new Named("init container", c)),
                        orEmpty(status.getContainerStatuses()).stream().map(c -> new Named("container", c)))
                .filter(n -> n.status.getState() != null && n.status.getState().getWaiting() != null
                        && n.status.getState().getWaiting().getReason() != null
                        && !STARTING.contains(n.status.getState().getWaiting().getReason()))
                .findFirst();
        if (waiting.isPresent()) {
            Named n = waiting.get();
            var w = n.status.getState().getWaiting();
            String detail = w.getMessage();
            var last = n.status.getLastState() == null ? null : n.status.getLastState().getTerminated();
            if (last != null && last.getExitCode() != null) {
                detail = (detail == null ? "" : detail + ", ") + "last exit code " + last.getExitCode()
                        + (last.getReason() == null ? "" : " (" + last.getReason() + ")");
            }
            return java.util.Optional.of(new PodTrouble(name, n.kind + " " + n.status.getName(), w.getReason(), detail));
        }
        return orEmpty(status.getConditions()).stream()
                .filter(c -> "PodScheduled".equals(c.getType()) && "False".equals(c.getStatus()))
                .findFirst()
                .map((PodCondition c) -> new PodTrouble(name, "scheduling",
                        c.getReason() == null ? "Unschedulable" : c.getReason(), c.getMessage()));
    }

    /** e.g. "pod shop-1 container web: ImagePullBackOff (Back-off pulling image ...)", three named at most. */
    static String describe(List<PodTrouble> troubles, boolean withDetail) {
        List<String> parts = new ArrayList<>();
        for (PodTrouble t : troubles.subList(0, Math.min(NAMED, troubles.size()))) {
            String detail = withDetail && t.detail != null && !t.detail.isBlank()
                    ? " (" + shorten(t.detail) + ")" : "";
            parts.add("pod " + t.pod + " " + t.what + ": " + t.reason + detail);
        }
        if (troubles.size() > NAMED) {
            parts.add("and " + (troubles.size() - NAMED) + " more pods");
        }
        return String.join("; ", parts);
    }

    private static String shorten(String s) {
        return s.length() > MAX_DETAIL ? s.substring(0, MAX_DETAIL - 3) + "..." : s;
    }

    private static <T> List<T> orEmpty(List<T> list) {
        return list == null ? List.of() : list;
    }

    private record Named(String kind, ContainerStatus status) {
    }
}
