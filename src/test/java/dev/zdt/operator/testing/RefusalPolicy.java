package dev.zdt.operator.testing;

import io.fabric8.kubernetes.api.model.admissionregistration.v1.ValidatingAdmissionPolicyBindingBuilder;
import io.fabric8.kubernetes.api.model.admissionregistration.v1.ValidatingAdmissionPolicyBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
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
