package dev.zdt.operator.ingress;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.Map;
import java.util.concurrent.Executors;

import jakarta.inject.Inject;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import dev.zdt.operator.Constants;
import dev.zdt.operator.api.v1alpha1.ControllerRef;
import dev.zdt.operator.testing.KubeApiServerResource;
import io.fabric8.kubernetes.api.model.IntOrString;
import io.fabric8.kubernetes.api.model.NamespaceBuilder;
import io.fabric8.kubernetes.api.model.ServiceBuilder;
import io.fabric8.kubernetes.api.model.discovery.v1.Endpoint;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointBuilder;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointSliceBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.junit.QuarkusTest;

/** The controller's replicas from a real API server's Services and EndpointSlices. */
@QuarkusTest
@QuarkusTestResource(value = KubeApiServerResource.class, restrictToAnnotatedClass = false)
class ControllerReplicasTest {

    @Inject
    KubernetesClient client;

    String ns;
    ControllerReplicas replicas;

    @BeforeEach
    void namespace() {
        ns = "ingress-" + Long.toString(System.nanoTime(), 36);
        client.resource(new NamespaceBuilder().withNewMetadata().withName(ns).endMetadata().build()).create();
        replicas = new ControllerReplicas(client, Executors.newSingleThreadExecutor(), java.time.Duration.ZERO);
    }

    private void service(String name, boolean selector) {
        var spec = new ServiceBuilder().withNewMetadata().withName(name).withNamespace(ns).endMetadata().withNewSpec()
                .addNewPort().withName("web").withPort(80).withNewTargetPort(8000).endPort()
                .addNewPort().withName("traefik").withPort(9000).withNewTargetPort(9100).endPort();
        if (selector) {
            spec.withSelector(Map.of("app", name));
        }
        client.resource(spec.endSpec().build()).create();
    }

    private void slice(String service, String name, String addressType, int apiPort, Endpoint... endpoints) {
        client.resource(new EndpointSliceBuilder().withNewMetadata().withName(name).withNamespace(ns)
                .withLabels(Map.of("kubernetes.io/service-name", service)).endMetadata()
                .withAddressType(addressType)
                .addNewPort().withName("web").withPort(8000).endPort()
                .addNewPort().withName("traefik").withPort(apiPort).endPort()
                .withEndpoints(endpoints).build()).create();
    }

    private static Endpoint pod(String name, String ip, Boolean ready) {
        return new EndpointBuilder().withAddresses(ip).withNewConditions().withReady(ready).endConditions()
                .withNewTargetRef().withKind("Pod").withName(name).endTargetRef().build();
    }

    private static Endpoint host(String ip) {
        return new EndpointBuilder().withAddresses(ip).withNewConditions().withReady(true).endConditions().build();
    }

    private ControllerReplicas.Found find(String service, IntOrString port) throws Exception {
        return findFor(ns, service, port);
    }

    /** The lookup an app of {@code appNamespace} makes for the test namespace's Service. */
    private ControllerReplicas.Found findFor(String appNamespace, String service, IntOrString port) throws Exception {
        ControllerRef ref = new ControllerRef();
        ref.setNamespace(ns);
        ref.setService(service);
        ref.setPort(port);
        return replicas.find(ref, appNamespace).get();
    }

    private void mark(String service, String namespaces) {
        client.services().inNamespace(ns).withName(service).edit(s -> {
            s.getMetadata().setLabels(Map.of(Constants.FRONT_END_LABEL, "true"));
            s.getMetadata().setAnnotations(namespaces == null ? Map.of()
                    : Map.of(Constants.FRONT_END_NAMESPACES_ANNOTATION, namespaces));
            return s;
        });
    }

    @Test
    void everyReadyPodOfTheServiceAtItsOwnAddressAndTheSlicesPort() throws Exception {
        service("traefik", true);
        slice("traefik", "traefik-a", "IPv4", 9100, pod("traefik-0", "10.244.1.10", true),
                pod("traefik-1", "10.244.2.10", null), pod("traefik-2", "10.244.3.10", false));
        slice("traefik", "traefik-b", "IPv6", 9100, pod("traefik-3", "fd00::10", true));
        // Another Service's slice in the namespace: not ours.
        service("other", true);
        slice("other", "other-a", "IPv4", 9100, pod("other-0", "10.244.9.9", true));

        ControllerReplicas.Found byName = find("traefik", new IntOrString("traefik"));
        assertThat(byName.error()).isNull();
        assertThat(byName.replicas()).containsExactly(
                new ControllerReplicas.Replica("traefik-0", "http://10.244.1.10:9100"),
                new ControllerReplicas.Replica("traefik-1", "http://10.244.2.10:9100"),
                new ControllerReplicas.Replica("traefik-3", "http://[fd00::10]:9100"));
        assertThat(find("traefik", new IntOrString(9000)).replicas()).as("the Service port by number")
                .isEqualTo(byName.replicas());
    }

    @Test
    void aSelectorlessServiceWithHandWrittenSlicesNamesReplicasByAddress() throws Exception {
        // How the harness exposes Traefik running as host processes: one slice per process port.
        service("traefik", false);
        slice("traefik", "traefik-host-a", "IPv4", 8082, host("192.0.2.2"));
        slice("traefik", "traefik-host-b", "IPv4", 8084, host("192.0.2.2"));
        assertThat(find("traefik", new IntOrString("traefik")).replicas()).containsExactly(
                new ControllerReplicas.Replica("192.0.2.2:8082", "http://192.0.2.2:8082"),
                new ControllerReplicas.Replica("192.0.2.2:8084", "http://192.0.2.2:8084"));
    }

    @Test
    void appsNamingTheSameControllerShareOneLookupForItsMaxAge() throws Exception {
        service("traefik", false);
        ControllerRef ref = new ControllerRef();
        ref.setNamespace(ns);
        ref.setService("traefik");
        ref.setPort(new IntOrString("traefik"));
        ControllerReplicas shared = new ControllerReplicas(client, Executors.newSingleThreadExecutor(),
                java.time.Duration.ofMinutes(5));
        assertThat(shared.find(ref, ns).get().replicas()).isEmpty();
        slice("traefik", "traefik-host-a", "IPv4", 8082, host("192.0.2.2"));
        assertThat(shared.find(ref, ns).get().replicas()).as("within the max age: the earlier lookup").isEmpty();
        assertThat(replicas.find(ref, ns).get().replicas()).as("max age 0: a new lookup").hasSize(1);
    }

    @Test
    void saysWhatIsMissing() throws Exception {
        assertThat(find("traefik", new IntOrString("traefik")).error())
                .isEqualTo("there is no Service " + ns + "/traefik (traffic.controller)");
        service("traefik", true);
        assertThat(find("traefik", new IntOrString("api")).error())
                .isEqualTo("Service " + ns + "/traefik has no port api (it has web/80, traefik/9000)");
        ControllerReplicas.Found none = find("traefik", new IntOrString("traefik"));
        assertThat(none.error()).isNull();
        assertThat(none.replicas()).as("no slice yet: no replica, which the gate takes as unknown").isEmpty();
        assertThat(List.of(none.source())).containsExactly("Service " + ns + "/traefik port traefik");
    }

    @Test
    void anotherNamespacesServiceIsFoundOnlyOnceItsOwnerMarkedItAsAFrontEnd() throws Exception {
        String refused = "Service " + ns + "/traefik is not marked as a front end for namespace shop (label "
                + "zdt.dev/front-end=true on the Service, by its namespace's owner), or does not exist; the operator asks it nothing";
        ControllerReplicas.Found missing = findFor("shop", "traefik", new IntOrString("traefik"));
        assertThat(missing.error()).as("no such Service").isEqualTo(refused);
        assertThat(missing.log()).endsWith("is refused: it does not exist");

        service("traefik", true);
        slice("traefik", "traefik-a", "IPv4", 9100, pod("traefik-0", "10.244.1.10", true));
        ControllerReplicas.Found unmarked = findFor("shop", "traefik", new IntOrString("traefik"));
        assertThat(unmarked.error()).as("the same words as for no Service: the tenant learns nothing of it")
                .isEqualTo(refused);
        assertThat(unmarked.replicas()).isEmpty();
        assertThat(unmarked.log()).endsWith("is refused: it has no label zdt.dev/front-end");
        assertThat(findFor(ns, "traefik", new IntOrString("traefik")).replicas()).as("its own namespace needs no mark")
                .extracting(ControllerReplicas.Replica::name).containsExactly("traefik-0");

        mark("traefik", null);
        ControllerReplicas.Found marked = findFor("shop", "traefik", new IntOrString("traefik"));
        assertThat(marked.error()).isNull();
        assertThat(marked.replicas()).extracting(ControllerReplicas.Replica::name).containsExactly("traefik-0");
        ControllerReplicas.Found wrongPort = findFor("shop", "traefik", new IntOrString("api"));
        assertThat(wrongPort.error()).as("another namespace's ports are not listed to the tenant")
                .isEqualTo("Service " + ns + "/traefik has no port api");
        assertThat(wrongPort.log()).isEqualTo("Service " + ns + "/traefik has no port api (it has web/80, traefik/9000)");

        mark("traefik", " cart, shop ,");
        assertThat(findFor("shop", "traefik", new IntOrString("traefik")).replicas()).as("listed").hasSize(1);
        ControllerReplicas.Found other = findFor("billing", "traefik", new IntOrString("traefik"));
        assertThat(other.error()).as("a namespace the annotation does not list")
                .isEqualTo(refused.replace("namespace shop", "namespace billing"));
        assertThat(other.log()).endsWith("its annotation zdt.dev/front-end-namespaces lists cart, shop, not billing");
        assertThat(findFor(ns, "traefik", new IntOrString("traefik")).replicas()).as("the annotation does not bind its own namespace")
                .hasSize(1);
        mark("traefik", "");
        assertThat(findFor("shop", "traefik", new IntOrString("traefik")).error()).as("an empty list admits none")
                .isEqualTo(refused);

        client.services().inNamespace(ns).withName("traefik").edit(s -> {
            s.getMetadata().setLabels(Map.of(Constants.FRONT_END_LABEL, "yes"));
            return s;
        });
        assertThat(findFor("shop", "traefik", new IntOrString("traefik")).error()).as("only the value true marks it")
                .isEqualTo(refused);
    }
}
