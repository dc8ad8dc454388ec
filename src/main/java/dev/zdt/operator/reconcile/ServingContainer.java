package dev.zdt.operator.reconcile;

import java.util.List;
import java.util.stream.Collectors;

import dev.zdt.operator.api.InvalidSpecException;
import dev.zdt.operator.api.v1alpha1.ZeroDowntimeAppSpec;
import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.ContainerPort;
import io.fabric8.kubernetes.api.model.IntOrString;

/** The container that serves traffic and the port the Service targets, resolved from the spec. */
public record ServingContainer(String name, IntOrString targetPort) {

    public static ServingContainer of(ZeroDowntimeAppSpec spec) {
        List<Container> containers = spec.getTemplate() == null || spec.getTemplate().getSpec() == null
                ? List.of()
                : spec.getTemplate().getSpec().getContainers();
        if (containers == null || containers.isEmpty()) {
            throw new InvalidSpecException("template.spec.containers must name at least one container");
        }
        Container container = spec.getContainerName() == null ? containers.get(0)
                : containers.stream().filter(c -> spec.getContainerName().equals(c.getName())).findFirst()
                        .orElseThrow(() -> new InvalidSpecException("containerName '" + spec.getContainerName()
                                + "' is not in template.spec.containers; containers: " + names(containers)));
        List<ContainerPort> ports = container.getPorts() == null ? List.of() : container.getPorts();
        IntOrString port = spec.getPort();
        if (port == null) {
            if (ports.isEmpty()) {
                throw new InvalidSpecException("container '" + container.getName()
                        + "' declares no containerPort; set spec.port to the port that serves traffic");
            }
            return new ServingContainer(container.getName(), new IntOrString(ports.get(0).getContainerPort()));
        }
        if (port.getStrVal() != null) {
            String wanted = port.getStrVal();
            boolean declared = ports.stream().anyMatch(p -> wanted.equals(p.getName()));
            if (!declared) {
                throw new InvalidSpecException("port '" + wanted + "' is not a named port of container '"
                        + container.getName() + "'; declared ports: " + describe(ports));
            }
            return new ServingContainer(container.getName(), new IntOrString(wanted));
        }
        int number = port.getIntVal();
        if (number < 1 || number > 65535) {
            throw new InvalidSpecException("port " + number + " is outside 1-65535");
        }
        return new ServingContainer(container.getName(), new IntOrString(number));
    }

    private static String names(List<Container> containers) {
        return containers.stream().map(Container::getName).collect(Collectors.joining(", "));
    }

    private static String describe(List<ContainerPort> ports) {
        if (ports.isEmpty()) {
            return "none";
        }
        return ports.stream().map(p -> (p.getName() == null ? "(unnamed)" : p.getName()) + "=" + p.getContainerPort())
                .collect(Collectors.joining(", "));
    }
}
