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
import java.util.function.Supplier;

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
     * @param error null when the lookup worked (the list may still be empty: no ready replica);
     *        else what the app's status may say
     * @param log for a Service of another namespace, what the operator's log says of the failure
     *        (its ports, whether it exists), which the tenant is not told; else null
     */
    public record Found(String source, List<Replica> replicas, String error, String log) {

        public Found(String source, List<Replica> replicas, String error) {
            this(source, replicas, error, null);
        }
    }

    /** A lookup and when it started: apps that share a controller share its lookups. */
    private record Lookup<T>(CompletableFuture<T> result, long startedNanos) {
    }

    /** The Service as read (null: there is none), or why it could not be read. */
    private record ServiceRead(Service service, String error) {
    }

    /** The Service's EndpointSlices, or why they could not be read. */
    private record SlicesRead(List<EndpointSlice> slices, String error) {
    }

    private final KubernetesClient client;
    private final Executor executor;
    private final long maxAgeNanos;
    private final Map<String, Lookup<ServiceRead>> services = new ConcurrentHashMap<>();
    private final Map<String, Lookup<SlicesRead>> slices = new ConcurrentHashMap<>();

    /**
     * @param maxAge how long one lookup serves every app naming the same controller (the gate asks
     *        every app's front end twice a second while it holds; the API server sees one lookup)
     */
    public ControllerReplicas(KubernetesClient client, Executor executor, Duration maxAge) {
        this.client = client;
        this.executor = executor;
        this.maxAgeNanos = maxAge.toNanos();
    }

    /**
     * The replicas of the controller an app of {@code appNamespace} names. The Service is read
     * first: a Service of another namespace that its owner did not mark as a front end for the
     * app's namespace ({@link FrontEndConsent}) ends the lookup there, before its EndpointSlices are
     * read or any replica is asked. Apps of every namespace share the reads of one Service (the
     * consent is checked per app on the shared read), so a controller many namespaces name costs
     * the API server what it costs for one.
     */
    public CompletableFuture<Found> find(ControllerRef ref, String appNamespace) {
        String service = ref.getNamespace() + "/" + ref.getService();
        String source = "Service " + service;
        boolean foreign = !ref.getNamespace().equals(appNamespace);
        return cached(services, service, () -> readService(ref)).thenCompose(read -> {
            if (read.error() != null) {
                return done(new Found(source, List.of(), read.error()));
            }
            FrontEndConsent.Refusal refused = FrontEndConsent.refusal(read.service(), ref.getNamespace(),
                    ref.getService(), appNamespace);
            if (refused != null) {
                return done(new Found(source, List.of(), refused.tenant(), refused.log()));
            }
            if (read.service() == null) {
                return done(new Found(source, List.of(), "there is no " + source + " (traffic.controller)"));
            }
            List<ServicePort> ports = read.service().getSpec() == null || read.service().getSpec().getPorts() == null
                    ? List.of() : read.service().getSpec().getPorts();
            ServicePort port = ports.stream().filter(p -> matches(p, ref.getPort())).findFirst().orElse(null);
            if (port == null) {
                String has = source + " has no port " + text(ref.getPort()) + " (it has "
                        + String.join(", ", ports.stream().map(ControllerReplicas::describe).toList()) + ")";
                // Another namespace's ports are its owner's business: the tenant learns only that its name is wrong.
                return done(foreign ? new Found(source, List.of(), source + " has no port " + text(ref.getPort()), has)
                        : new Found(source, List.of(), has));
            }
            return cached(slices, service, () -> readSlices(ref)).thenApply(s -> s.error() != null
                    ? new Found(source, List.of(), s.error())
                    : new Found(source + " port " + text(ref.getPort()), replicas(s.slices(), port.getName()), null));
        });
    }

    private <T> CompletableFuture<T> cached(Map<String, Lookup<T>> recent, String key, Supplier<T> read) {
        long now = System.nanoTime();
        Lookup<T> l = recent.compute(key, (k, old) -> old != null && now - old.startedNanos() < maxAgeNanos ? old
                : new Lookup<>(CompletableFuture.supplyAsync(read, executor), now));
        if (recent.size() > 1000) {
            // Controllers named by apps: a handful. This only bounds a spec that varies the name.
            recent.values().removeIf(x -> now - x.startedNanos() >= maxAgeNanos);
        }
        return l.result();
    }

    private ServiceRead readService(ControllerRef ref) {
        try {
            return new ServiceRead(client.services().inNamespace(ref.getNamespace()).withName(ref.getService()).get(),
                    null);
        } catch (KubernetesClientException e) {
            return new ServiceRead(null, failed(ref, e));
        }
    }

    private SlicesRead readSlices(ControllerRef ref) {
        try {
            return new SlicesRead(client.discovery().v1().endpointSlices().inNamespace(ref.getNamespace())
                    .withLabel("kubernetes.io/service-name", ref.getService()).list().getItems(), null);
        } catch (KubernetesClientException e) {
            return new SlicesRead(List.of(), failed(ref, e));
        }
    }

    private static String failed(ControllerRef ref, KubernetesClientException e) {
        return "the API server refused or failed the lookup of Service " + ref.getNamespace() + "/" + ref.getService()
                + (e.getCode() > 0 ? " (HTTP " + e.getCode() + ")" : "");
    }

    private static <T> CompletableFuture<T> done(T value) {
        return CompletableFuture.completedFuture(value);
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
