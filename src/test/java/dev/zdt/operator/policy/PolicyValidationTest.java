package dev.zdt.operator.policy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

import dev.zdt.operator.api.InvalidSpecException;
import dev.zdt.operator.api.v1alpha1.DrainPolicy;
import io.fabric8.kubernetes.client.utils.Serialization;

/** The DrainPolicy's validation step: every problem at once, the same answer for the reconciler and the webhook. */
class PolicyValidationTest {

    private static DrainPolicy policy(String name, String spec) {
        return Serialization.unmarshal("""
                apiVersion: zdt.dev/v1alpha1
                kind: DrainPolicy
                metadata:
                  name: %s
                  namespace: shop
                spec:
                  selector:
                    matchLabels: {app: web}
                %s""".formatted(name, spec), DrainPolicy.class);
    }

    @Test
    void aValidPolicyGivesItsBudget() {
        var validated = PolicyValidation.check(policy("web", "  services: [web]\n  traffic: {provider: traefik}\n"));
        assertThat(validated.valid()).isTrue();
        assertThat(validated.problems()).isEmpty();
        assertThat(validated.value().holdSeconds()).isPositive();
    }

    @Test
    void everyProblemIsNamedAtOnceInTheOrderOfTheSpec() {
        DrainPolicy p = policy("a.b", "  traffic: {provider: traefik}\n  drain: {mode: exec, holdSeconds: 1}\n");
        var validated = PolicyValidation.check(p);
        assertThat(validated.valid()).isFalse();
        assertThat(validated.value()).isNull();
        assertThat(validated.problems()).hasSize(4);
        assertThat(validated.problems().get(0)).startsWith("the policy's name 'a.b' must be at most 56 characters without '.'");
        assertThat(validated.problems().get(1)).isEqualTo("drain.mode exec is not supported by a DrainPolicy; remove it (gate)");
        assertThat(validated.problems().get(2)).isEqualTo("services must name at least one Service whose endpoints route to the pods");
        assertThat(validated.problems().get(3)).startsWith("drain.holdSeconds 1 is below the propagation time");
        // The webhook asks the same step and refuses with the same message.
        assertThatThrownBy(() -> PolicyPods.budget(p)).isInstanceOf(InvalidSpecException.class)
                .hasMessage(validated.message());
    }
}
