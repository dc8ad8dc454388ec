package dev.zdt.operator.gate;

import java.util.ArrayList;
import java.util.Collection;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

import io.fabric8.kubernetes.api.model.discovery.v1.Endpoint;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointSlice;

/**
 * Which pods an app's EndpointSlices offer as ready. Only {@code ready} counts: a terminating pod
 * stays {@code serving: true} while its readiness probe passes, but is {@code ready: false}.
 */
public final class Rotation {

    /** One ready endpoint: the pod it names (null when the slice has no targetRef) and its addresses. */
    record Ready(String pod, List<String> addresses) {
    }

    private final List<Ready> ready;
    /** Indexes for {@link #offers}: called once per terminating pod, so it must not scan. */
    private final Set<String> readyPods = new HashSet<>();
    private final Set<String> readyUnnamedAddresses = new HashSet<>();

    private Rotation(List<Ready> ready) {
        this.ready = ready;
        for (Ready r : ready) {
            if (r.pod() != null) {
                readyPods.add(r.pod());
            } else {
                readyUnnamedAddresses.addAll(r.addresses());
            }
        }
    }

    public static Rotation of(Collection<EndpointSlice> slices) {
        List<Ready> ready = new ArrayList<>();
        Set<String> seen = new HashSet<>();
        for (EndpointSlice slice : slices) {
            if (slice.getEndpoints() == null) {
                continue;
            }
            for (Endpoint e : slice.getEndpoints()) {
                // An unset ready condition means "ready" (discovery.k8s.io/v1).
                boolean isReady = e.getConditions() == null || e.getConditions().getReady() == null
                        || e.getConditions().getReady();
                if (!isReady) {
                    continue;
                }
                String pod = e.getTargetRef() != null && "Pod".equals(e.getTargetRef().getKind())
                        ? e.getTargetRef().getName() : null;
                List<String> addresses = e.getAddresses() == null ? List.of() : e.getAddresses();
                // Dual-stack Services list a pod once per address family: count it once.
                String identity = pod != null ? "pod:" + pod : "ip:" + String.join(",", addresses);
                if (seen.add(identity)) {
                    ready.add(new Ready(pod, addresses));
                }
            }
        }
        return new Rotation(ready);
    }

    /** Whether the slices still offer this pod as ready: by its name, or by address when no targetRef names a pod. */
    public boolean offers(String pod, String address) {
        return readyPods.contains(pod) || (address != null && readyUnnamedAddresses.contains(address));
    }

    /** Ready endpoints, each pod counted once. */
    public int readyCount() {
        return ready.size();
    }

    /** Ready endpoints that are none of the given pods. */
    public int readyOtherThan(Set<String> pods, Set<String> addresses) {
        return (int) ready.stream().filter(r -> r.pod() != null ? !pods.contains(r.pod())
                : r.addresses().stream().noneMatch(addresses::contains)).count();
    }
}
