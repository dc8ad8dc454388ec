package dev.zdt.operator.pod;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;

import dev.zdt.operator.api.InvalidSpecException;
import dev.zdt.operator.api.v1alpha1.StreamSignal;
import dev.zdt.operator.api.v1alpha1.StreamsSpec;
import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.ContainerBuilder;
import io.fabric8.kubernetes.api.model.ContainerPort;
import io.fabric8.kubernetes.api.model.EnvVar;
import io.fabric8.kubernetes.api.model.EnvVarBuilder;
import io.fabric8.kubernetes.api.model.IntOrString;
import io.fabric8.kubernetes.api.model.LifecycleHandler;
import io.fabric8.kubernetes.api.model.LifecycleHandlerBuilder;
import io.fabric8.kubernetes.api.model.Quantity;
import io.fabric8.kubernetes.api.model.Volume;
import io.fabric8.kubernetes.api.model.VolumeBuilder;
import io.fabric8.kubernetes.api.model.VolumeMount;
import io.fabric8.kubernetes.api.model.VolumeMountBuilder;
import io.fabric8.kubernetes.client.utils.Serialization;

/**
 * Gate mode's pod parts: an init container copies the static helper into an emptyDir, the serving
 * container mounts it read-only and runs it as its preStop hook. The helper asks the gate for its
 * exact pod (ZDT_POD_NAME, from the downward API: a pod's hostname is cut at 63 characters) with
 * the pod's own projected token ({@link PodIdentity}, read from its file at each attempt), sleeps
 * what is left of the hold when the gate cannot answer, then runs the container's own preStop
 * hook. Pure: no client.
 */
public final class DrainHelper {

    public static final String INIT_CONTAINER = "zdt-drain-install";
    public static final String VOLUME = "zdt-drain";
    /** Where the serving container sees the helper: a path no image is likely to use. */
    public static final String MOUNT_PATH = "/.zdt";
    public static final String BINARY = MOUNT_PATH + "/zdt-drain";
    public static final String POD_NAME_ENV = "ZDT_POD_NAME";
    /** The pod's IP: the container's own httpGet preStop goes there, as the kubelet would send it. */
    public static final String POD_IP_ENV = "ZDT_POD_IP";
    private static final java.util.regex.Pattern HEADER_NAME = java.util.regex.Pattern.compile("[A-Za-z0-9-]{1,256}");

    private DrainHelper() {
    }

    /**
     * Runs as the image's own non-root user; meets the restricted Pod Security profile, so an app
     * whose template meets it still does. Tiny requests: a pod's request is the larger of its
     * init containers' and the sum of its containers', so these add nothing to a real app.
     */
    public static Container initContainer(String image, String pullPolicy) {
        return new ContainerBuilder()
                .withName(INIT_CONTAINER)
                .withImage(image)
                .withImagePullPolicy(pullPolicy)
                .withCommand("/zdt-drain", "install", MOUNT_PATH)
                .withNewSecurityContext()
                    .withRunAsNonRoot(true)
                    .withAllowPrivilegeEscalation(false)
                    .withPrivileged(false)
                    .withReadOnlyRootFilesystem(true)
                    .withNewCapabilities().withDrop("ALL").endCapabilities()
                    .withNewSeccompProfile().withType("RuntimeDefault").endSeccompProfile()
                .endSecurityContext()
                .withNewResources()
                    .withRequests(Map.of("cpu", new Quantity("10m"), "memory", new Quantity("16Mi")))
                    .withLimits(Map.of("memory", new Quantity("32Mi")))
                .endResources()
                .withVolumeMounts(new VolumeMountBuilder().withName(VOLUME).withMountPath(MOUNT_PATH).build())
                .build();
    }

    public static Volume volume() {
        return new VolumeBuilder().withName(VOLUME).withNewEmptyDir().withSizeLimit(new Quantity("32Mi"))
                .endEmptyDir().build();
    }

    /**
     * The serving container with the helper mounted, its pod name in the environment and the
     * helper as its preStop hook; the container's own preStop is handed to the helper.
     *
     * @param deadlineSeconds how long after the hook starts the container's own preStop may still run
     */
    public static Container serving(Container container, GateEndpoint gate, String namespace,
            String app, int holdSeconds, int deadlineSeconds) {
        return serving(container, gate, namespace, app, holdSeconds, deadlineSeconds, null, List.of());
    }

    /**
     * @param streams the app's stream phase (drain.streams), or null
     * @param defaultPorts the ports the stream phase watches when drain.streams.ports is not set
     */
    public static Container serving(Container container, GateEndpoint gate, String namespace,
            String app, int holdSeconds, int deadlineSeconds, StreamsSpec streams, List<IntOrString> defaultPorts) {
        if (container.getVolumeMounts() != null && container.getVolumeMounts().stream()
                .anyMatch(m -> MOUNT_PATH.equals(m.getMountPath()) || VOLUME.equals(m.getName()))) {
            throw new InvalidSpecException("container '" + container.getName() + "' already mounts " + MOUNT_PATH
                    + " or a volume named " + VOLUME + ", which drain.mode gate needs for its helper");
        }
        List<String> command = new ArrayList<>(List.of(BINARY, "prestop",
                "--gate", gate.url(""),
                "--namespace", namespace,
                "--app", app,
                "--hold", Integer.toString(holdSeconds),
                "--deadline", Integer.toString(deadlineSeconds),
                "--token-file", PodIdentity.TOKEN_FILE));
        LifecycleHandler own = container.getLifecycle() == null ? null : container.getLifecycle().getPreStop();
        if (own != null) {
            command.add("--then");
            command.add(Serialization.asJson(withNumericPort(own, container)));
        }
        command.addAll(streamsFlags(streams, container, defaultPorts));
        List<EnvVar> env = new ArrayList<>();
        if (container.getEnv() != null) {
            container.getEnv().stream().filter(e -> !POD_NAME_ENV.equals(e.getName()) && !POD_IP_ENV.equals(e.getName())
                    && !GateToken.ENV.equals(e.getName())).forEach(env::add);
        }
        env.add(downward(POD_NAME_ENV, "metadata.name"));
        env.add(downward(POD_IP_ENV, "status.podIP"));
        List<VolumeMount> mounts = new ArrayList<>();
        if (container.getVolumeMounts() != null) {
            mounts.addAll(container.getVolumeMounts());
        }
        mounts.add(new VolumeMountBuilder().withName(VOLUME).withMountPath(MOUNT_PATH).withReadOnly(true).build());
        // No app token: a ZDT_GATE_TOKEN the template carried is dropped above.
        return PodIdentity.mounted(new ContainerBuilder(container)
                .withEnv(env)
                .withVolumeMounts(mounts)
                .editOrNewLifecycle()
                    .withPreStop(new LifecycleHandlerBuilder().withNewExec().withCommand(command).endExec().build())
                .endLifecycle()
                .build());
    }

    private static EnvVar downward(String name, String field) {
        // apiVersion as the API server defaults it: the same value written two ways would read as a
        // change to JOSDK's server-side-apply matcher, and the Deployment be applied on every reconcile.
        return new EnvVarBuilder().withName(name).withNewValueFrom().withNewFieldRef().withApiVersion("v1")
                .withFieldPath(field).endFieldRef().endValueFrom().build();
    }

    /**
     * The stream phase's flags: the wind-down, the signal as an httpGet hook to the pod's own address
     * (named port resolved), and the watched ports as numbers, each one the container declares.
     */
    static List<String> streamsFlags(StreamsSpec streams, Container container, List<IntOrString> defaultPorts) {
        if (streams == null || streams.windDown() == 0) {
            return List.of();
        }
        List<String> flags = new ArrayList<>(List.of("--streams-wait", Integer.toString(streams.windDown())));
        StreamSignal signal = streams.getSignal();
        if (signal != null) {
            if (signal.getPort() == null) {
                throw new InvalidSpecException("drain.streams.signal.port is missing: name the port of container '"
                        + container.getName() + "' that ends the app's streams");
            }
            int port = portNumber(signal.getPort(), container, "drain.streams.signal.port", false);
            if (signal.getHttpHeaders() != null) {
                signal.getHttpHeaders().stream().filter(h -> h.getName() == null || !HEADER_NAME.matcher(h.getName()).matches())
                        .findFirst().ifPresent(h -> {
                            throw new InvalidSpecException("drain.streams.signal.httpHeaders has a header named '"
                                    + h.getName() + "'; a header name is letters, digits and '-'");
                        });
            }
            LifecycleHandler hook = new LifecycleHandlerBuilder().withNewHttpGet()
                    .withPath(signal.getPath() == null ? "/" : signal.getPath())
                    .withPort(new IntOrString(port))
                    .withHttpHeaders(signal.getHttpHeaders() == null ? List.of() : signal.getHttpHeaders())
                    .endHttpGet().build();
            flags.add("--streams-signal");
            flags.add(Serialization.asJson(hook));
        }
        if (!Boolean.FALSE.equals(streams.getWaitForConnections())) {
            // Ports the user wrote must be declared; the default is the port the Service targets, checked already.
            boolean written = streams.getPorts() != null && !streams.getPorts().isEmpty();
            List<IntOrString> wanted = written ? streams.getPorts() : defaultPorts;
            if (wanted == null || wanted.isEmpty()) {
                throw new InvalidSpecException("drain.streams waits for connections, but container '" + container.getName()
                        + "' declares no port to watch; set drain.streams.ports or waitForConnections: false");
            }
            if (wanted.size() > StreamsSpec.MAX_PORTS) {
                throw new InvalidSpecException("drain.streams.ports names " + wanted.size() + " ports, at most "
                        + StreamsSpec.MAX_PORTS);
            }
            flags.add("--streams-ports");
            flags.add(wanted.stream().map(p -> portNumber(p, container, "drain.streams.ports", written)).distinct().sorted()
                    .map(String::valueOf).collect(Collectors.joining(",")));
        }
        return flags;
    }

    /**
     * A port by name or number; with {@code declared}, a number must also be one of the container's
     * ports (the helper watches what the container says it serves).
     */
    private static int portNumber(IntOrString port, Container container, String field, boolean declared) {
        List<ContainerPort> ports = container.getPorts() == null ? List.of() : container.getPorts();
        String known = ports.isEmpty() ? "none" : ports.stream()
                .map(p -> (p.getName() == null ? "" : p.getName() + "=") + p.getContainerPort())
                .collect(Collectors.joining(", "));
        if (port.getStrVal() != null) {
            String name = port.getStrVal();
            return ports.stream().filter(p -> name.equals(p.getName())).map(ContainerPort::getContainerPort).findFirst()
                    .orElseThrow(() -> new InvalidSpecException(field + " names port '" + name + "', which container '"
                            + container.getName() + "' does not declare; declared ports: " + known));
        }
        int number = port.getIntVal() == null ? 0 : port.getIntVal();
        if (number < 1 || number > 65535) {
            throw new InvalidSpecException(field + " " + number + " is outside 1-65535");
        }
        if (declared && ports.stream().noneMatch(p -> p.getContainerPort() != null && p.getContainerPort() == number)) {
            throw new InvalidSpecException(field + " " + number + " is not a port of container '" + container.getName()
                    + "'; declared ports: " + known);
        }
        return number;
    }

    /** The helper cannot look up a container's port names: the kubelet would, so the operator does. */
    static LifecycleHandler withNumericPort(LifecycleHandler hook, Container container) {
        if (hook.getHttpGet() == null || hook.getHttpGet().getPort() == null
                || hook.getHttpGet().getPort().getStrVal() == null) {
            return hook;
        }
        String name = hook.getHttpGet().getPort().getStrVal();
        int number = (container.getPorts() == null ? List.<ContainerPort>of() : container.getPorts()).stream()
                .filter(p -> name.equals(p.getName())).map(ContainerPort::getContainerPort).findFirst()
                .orElseThrow(() -> new InvalidSpecException("the preStop httpGet of container '" + container.getName()
                        + "' names port '" + name + "', which the container does not declare"));
        return new LifecycleHandlerBuilder(hook).editHttpGet().withPort(new IntOrString(number)).endHttpGet().build();
    }
}
