package dev.zdt.operator.reconcile;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;

import org.junit.jupiter.api.Test;

import dev.zdt.operator.api.v1alpha1.ZeroDowntimeApp;
import dev.zdt.operator.ingress.IngressPolicy;
import dev.zdt.operator.pod.DrainHelperConfig;
import dev.zdt.operator.status.Validated;
import dev.zdt.operator.budget.DrainBudget;
import dev.zdt.operator.testing.Apps;

/** The ZeroDowntimeApp's validation step, without a cluster: every spec check, each independent one reported. */
class AppValidationTest {

    private static final DrainHelperConfig HELPER = new DrainHelperConfig() {
        @Override
        public String image() {
            return "localhost/zdt-drain:test";
        }

        @Override
        public String pullPolicy() {
            return "Never";
        }
    };
    private static final IngressPolicy NOTHING_ALLOWED = new IngressPolicy(List.of(), List.of());

    private static Validated<DrainBudget> check(String traffic, String extraSpec) {
        ZeroDowntimeApp app = Apps.parse(Apps.yaml("shop", traffic, extraSpec));
        app.getMetadata().setNamespace("shop-ns");
        return AppValidation.check(app, NOTHING_ALLOWED, HELPER);
    }

    @Test
    void aValidAppGivesTheBudgetItsChildrenAreRenderedWith() {
        Validated<DrainBudget> validated = check("provider: traefik\nthrottleSeconds: 10", "");
        assertThat(validated.valid()).isTrue();
        assertThat(validated.value().holdSeconds()).isEqualTo(17);
    }

    @Test
    void theBudgetTheFrontEndAndTheTemplateAreEachReported() {
        Validated<DrainBudget> validated = check("""
                provider: traefik
                verify: ingress
                apiUrl: https://kubernetes.default.svc/""", "containerName: api\ndrain:\n  holdSeconds: 3");
        assertThat(validated.valid()).isFalse();
        assertThat(validated.problems()).hasSize(3);
        assertThat(validated.problems().get(0)).startsWith("drain.holdSeconds 3 is below the propagation time");
        assertThat(validated.problems().get(1)).startsWith("traffic.apiUrl https://kubernetes.default.svc/ is not on "
                + "the operator's allow-list (empty)");
        assertThat(validated.problems().get(2))
                .isEqualTo("containerName 'api' is not in template.spec.containers; containers: web");
        assertThat(validated.message()).isEqualTo(String.join("; ", validated.problems()));
    }

    @Test
    void theTemplateIsCheckedAsTheDeploymentRendersIt() {
        // Found by the renderer, not the budget: sleep mode would replace the container's own preStop.
        ZeroDowntimeApp app = Apps.parse(Apps.withPodSpec(Apps.yaml("shop", "provider: traefik", "drain:\n  mode: sleep"),
                Apps.podSpec(Apps.WEB_CONTAINER + "  lifecycle: {preStop: {exec: {command: [sh, -c, 'sleep 1']}}}\n")));
        app.getMetadata().setNamespace("shop-ns");
        Validated<DrainBudget> validated = AppValidation.check(app, NOTHING_ALLOWED, HELPER);
        assertThat(validated.problems()).singleElement().asString()
                .startsWith("container 'web' has its own preStop hook, which drain.mode sleep would replace");
    }
}
