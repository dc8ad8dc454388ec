package dev.zdt.operator.testing;

import dev.zdt.operator.api.v1alpha1.DrainPolicy;
import dev.zdt.operator.api.v1alpha1.ZeroDowntimeApp;
import io.fabric8.kubernetes.api.model.ServiceBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.utils.Serialization;

/** ZeroDowntimeApp manifests for tests, written as users write them: YAML. */
public final class Apps {

    private Apps() {
    }

    /** A valid app behind Traefik (throttle 10 s); {@code extraSpec} is YAML appended to spec. */
    public static String yaml(String name, String extraSpec) {
        return yaml(name, "provider: traefik\nthrottleSeconds: 10", extraSpec);
    }

    /** A valid app; {@code traffic} is the YAML of spec.traffic, {@code extraSpec} YAML appended to spec. */
    public static String yaml(String name, String traffic, String extraSpec) {
        return """
                apiVersion: zdt.dev/v1alpha1
                kind: ZeroDowntimeApp
                metadata:
                  name: %s
                spec:
                  replicas: 2
                  template:
                    spec:
                %s  traffic:
                %s
                %s
                """.formatted(name, WEB_POD_SPEC, traffic.indent(4).stripTrailing(), extraSpec.indent(2).stripTrailing());
    }

    /**
     * The serving container of {@link #yaml} as a YAML list item at column 0; lines appended at two
     * spaces continue it (more ports, env, a securityContext), at column 0 they add containers.
     */
    public static final String WEB_CONTAINER = """
            - name: web
              image: localhost/demo-app:latest
              ports:
              - name: http
                containerPort: 8080
            """;

    /** A pod spec with these containers (list items at column 0), indented as it stands in an app or a workload. */
    public static String podSpec(String containers) {
        return ("containers:\n" + containers).indent(6);
    }

    /** The pod spec lines of {@link #yaml}, as they stand in it (under template.spec). */
    public static final String WEB_POD_SPEC = podSpec(WEB_CONTAINER);

    /** An app's YAML from {@link #yaml} with its pod spec lines replaced by {@code podSpec}, indented as they are. */
    public static String withPodSpec(String appYaml, String podSpec) {
        if (!appYaml.contains(WEB_POD_SPEC)) {
            throw new IllegalArgumentException("not an app from Apps.yaml: " + appYaml);
        }
        return appYaml.replace(WEB_POD_SPEC, podSpec);
    }

    /** The gate Service the chart installs; the operator reads its ClusterIP for preStop hooks. */
    public static void ensureGateService(KubernetesClient client) {
        client.resource(new ServiceBuilder().withNewMetadata().withName("zdt-operator-gate").withNamespace("default")
                .endMetadata().withNewSpec().addNewPort().withPort(80).withNewTargetPort(8080).endPort().endSpec()
                .build()).createOr(existing -> client.services().inNamespace("default").withName("zdt-operator-gate").get());
    }

    public static ZeroDowntimeApp parse(String yaml) {
        return Serialization.unmarshal(yaml, ZeroDowntimeApp.class);
    }

    /**
     * The DrainPolicy the policy tests share: {@code web} in {@code namespace}, selecting the pods
     * labelled {@code app: web} behind Service {@code web}; {@code specTail} adds the rest of the
     * spec (traffic, drain), written at the spec's own indentation.
     */
    public static DrainPolicy webPolicy(String namespace, String specTail) {
        DrainPolicy policy = Serialization.unmarshal("""
                apiVersion: zdt.dev/v1alpha1
                kind: DrainPolicy
                metadata:
                  name: web
                spec:
                  selector:
                    matchLabels: {app: web}
                  services: [web]
                """ + specTail.indent(2), DrainPolicy.class);
        policy.getMetadata().setNamespace(namespace);
        return policy;
    }
}
