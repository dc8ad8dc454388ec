package dev.zdt.operator.testing;

import static org.awaitility.Awaitility.await;

import java.time.Duration;

import io.fabric8.kubernetes.api.model.MicroTime;
import io.fabric8.kubernetes.api.model.admissionregistration.v1.ValidatingAdmissionPolicyBindingBuilder;
import io.fabric8.kubernetes.api.model.admissionregistration.v1.ValidatingAdmissionPolicyBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.api.model.events.v1.EventBuilder;
import io.fabric8.kubernetes.client.KubernetesClientException;

/**
 * A ValidatingAdmissionPolicy, bound to one namespace, that refuses some writes of one resource:
 * for tests of what the operator does when the API server says no. Closing it deletes it.
 */
public final class RefusalPolicy implements AutoCloseable {

    private final KubernetesClient client;
    private final String name;
    private final String message;

    /**
     * @param group the resource's API group ("" for the core group)
     * @param expression CEL over {@code object}: false refuses the write
     */
    public RefusalPolicy(KubernetesClient client, String ns, String group, String resource, String expression,
            String message, String... operations) {
        this.client = client;
        this.name = "zdt-test-refuse-" + resource + "-" + ns;
        this.message = message;
        client.resource(new ValidatingAdmissionPolicyBuilder()
                .withNewMetadata().withName(name).endMetadata()
                .withNewSpec().withFailurePolicy("Fail")
                    .withNewMatchConstraints().addNewResourceRule().withApiGroups(group).withApiVersions("*")
                        .withOperations(operations).withResources(resource).endResourceRule().endMatchConstraints()
                    .addNewValidation().withExpression(expression).withMessage(message).endValidation()
                .endSpec().build()).create();
        client.resource(new ValidatingAdmissionPolicyBindingBuilder()
                .withNewMetadata().withName(name).endMetadata()
                .withNewSpec().withPolicyName(name).withValidationActions("Deny")
                    .withNewMatchResources().withNewNamespaceSelector()
                        .addToMatchLabels("kubernetes.io/metadata.name", ns).endNamespaceSelector().endMatchResources()
                .endSpec().build()).create();
    }

    /**
     * A policy that refuses every Event in the namespace, returned once the API server refuses one
     * (it takes a policy in after a moment): the status is taken, the Warning is not, as under a
     * timeout or an outage of the events API.
     */
    public static RefusalPolicy eventsRefused(KubernetesClient client, String ns, Duration wait) {
        RefusalPolicy refusal = new RefusalPolicy(client, ns, "events.k8s.io", "events", "false", "no events here",
                "CREATE");
        await().atMost(wait).until(() -> {
            try {
                client.resource(new EventBuilder().withNewMetadata().withGenerateName("probe-").withNamespace(ns)
                        .endMetadata().withEventTime(new MicroTime("2026-01-01T00:00:00.000000Z"))
                        .withReportingController("zdt.dev/test").withReportingInstance("test").withAction("Probe")
                        .withReason("Probe").withType("Normal").withNewRegarding().withKind("Namespace").withApiVersion("v1")
                            .withName(ns).withNamespace(ns).endRegarding().build()).create();
                return false;
            } catch (KubernetesClientException e) {
                return refusal.refused(e);
            }
        });
        return refusal;
    }

    /** Whether the API server refused a write because of this policy (it takes a policy in after a moment). */
    public boolean refused(KubernetesClientException e) {
        return e.getMessage() != null && e.getMessage().contains(message);
    }

    @Override
    public void close() {
        client.admissionRegistration().v1().validatingAdmissionPolicyBindings().withName(name).delete();
        client.admissionRegistration().v1().validatingAdmissionPolicies().withName(name).delete();
    }
}
