package dev.zdt.operator.ingress;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executor;

import io.fabric8.kubernetes.api.model.IntOrString;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.ServicePort;
import io.fabric8.kubernetes.api.model.discovery.v1.Endpoint;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointPort;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointSlice;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;

import dev.zdt.operator.api.v1alpha1.ControllerRef;

/**
 * The replicas of an ingress controller, from the EndpointSlices of the Service in front of its
 * API: every ready endpoint, at its own address and the slice's port for the Service port named.
 * Works for a pod-backed Service and for a selector-less one whose slices are written by hand (a
 * controller outside the cluster). Read at question time, off the gate's thread.
 */
public final class ControllerReplicas {

    /** One replica to ask: its name in messages (pod name, else address:port) and its API's base URL. */
    public record Replica(String name, String baseUrl) {
    }

    /**
     * The replicas found, or why none could be.
     *
     * @param error null when the lookup worked (the list may still be empty: no ready replica)
     */
    public record Found(String source, List<Replica> replicas, String error) {
    }

    /** A lookup and when it started: apps that share a controller share its lookups. */
    private record Lookup(CompletableFuture<Found> found, long startedNanos) {
    }

    private final KubernetesClient client;
    private final Executor executor;
    private final long maxAgeNanos;
    private final Map<String, Lookup> recent = new ConcurrentHashMap<>();

    /**
     * @param maxAge how long one lookup serves every app naming the same controller (the gate asks
     *        every app's front end twice a second while it holds; the API server sees one lookup)
     */
    public ControllerReplicas(KubernetesClient client, Executor executor, Duration maxAge) {
        this.client = client;
        this.executor = executor;
        this.maxAgeNanos = maxAge.toNanos();
    }

    public CompletableFuture<Found> find(ControllerRef ref) {
        String key = ref.getNamespace() + "/" + ref.getService() + ":" + text(ref.getPort());
        long now = System.nanoTime();
        Lookup l = recent.compute(key, (k, old) -> old != null && now - old.startedNanos() < maxAgeNanos ? old
                : new Lookup(CompletableFuture.supplyAsync(() -> lookup(ref), executor), now));
        if (recent.size() > 1000) {
            // Controllers named by apps: a handful. This only bounds a spec that varies the name.
            recent.values().removeIf(x -> now - x.startedNanos() >= maxAgeNanos);
        }
        return l.found();
    }

    Found lookup(ControllerRef ref) {
        String source = "Service " + ref.getNamespace() + "/" + ref.getService();
        try {
            Service svc = client.services().inNamespace(ref.getNamespace()).withName(ref.getService()).get();
            if (svc == null) {
                return new Found(source, List.of(), "there is no " + source + " (traffic.controller)");
            }
            List<ServicePort> ports = svc.getSpec() == null || svc.getSpec().getPorts() == null ? List.of()
                    : svc.getSpec().getPorts();
            ServicePort port = ports.stream().filter(p -> matches(p, ref.getPort())).findFirst().orElse(null);
            if (port == null) {
                return new Found(source, List.of(), source + " has no port " + text(ref.getPort()) + " (it has "
                        + String.join(", ", ports.stream().map(ControllerReplicas::describe).toList()) + ")");
            }
            List<EndpointSlice> slices = client.discovery().v1().endpointSlices().inNamespace(ref.getNamespace())
                    .withLabel("kubernetes.io/service-name", ref.getService()).list().getItems();
            return new Found(source + " port " + text(ref.getPort()), replicas(slices, port.getName()), null);
        } catch (KubernetesClientException e) {
            return new Found(source, List.of(), "the API server refused or failed the lookup of " + source
                    + (e.getCode() > 0 ? " (HTTP " + e.getCode() + ")" : ""));
        }
    }

    /** Ready endpoints of the slices, at the port named like the Service port (unnamed for a single unnamed port). */
    static List<Replica> replicas(List<EndpointSlice> slices, String portName) {
        List<Replica> out = new ArrayList<>();
        for (EndpointSlice slice : slices) {
            Integer number = slice.getPorts() == null ? null : slice.getPorts().stream()
                    .filter(p -> Objects.equals(emptyToNull(p.getName()), emptyToNull(portName)))
                    .map(EndpointPort::getPort).filter(Objects::nonNull).findFirst().orElse(null);
            if (number == null || slice.getEndpoints() == null) {
                continue;
            }
            boolean v6 = "IPv6".equals(slice.getAddressType());
            for (Endpoint e : slice.getEndpoints()) {
                // Ready unset means ready (discovery.k8s.io/v1); a terminating replica is not asked.
                boolean ready = e.getConditions() == null || !Boolean.FALSE.equals(e.getConditions().getReady());
                if (!ready || e.getAddresses() == null || e.getAddresses().isEmpty()) {
                    continue;
                }
                String address = e.getAddresses().get(0);
                String hostPort = (v6 ? "[" + address + "]" : address) + ":" + number;
                String name = e.getTargetRef() != null && "Pod".equals(e.getTargetRef().getKind())
                        && e.getTargetRef().getName() != null ? e.getTargetRef().getName() : hostPort;
                out.add(new Replica(name, "http://" + hostPort));
            }
        }
        out.sort(Comparator.comparing(Replica::name));
        return out.stream().distinct().toList();
    }

    private static boolean matches(ServicePort p, IntOrString wanted) {
        if (wanted == null) {
            return false;
        }
        if (wanted.getIntVal() != null) {
            return wanted.getIntVal().equals(p.getPort());
        }
        return wanted.getStrVal() != null && wanted.getStrVal().equals(p.getName());
    }

    private static String describe(ServicePort p) {
        return p.getName() == null || p.getName().isEmpty() ? Integer.toString(p.getPort()) : p.getName() + "/" + p.getPort();
    }

    private static String text(IntOrString port) {
        return port == null ? "(unset)" : port.getIntVal() != null ? port.getIntVal().toString() : port.getStrVal();
    }

    private static String emptyToNull(String s) {
        return s == null || s.isEmpty() ? null : s;
    }
}
