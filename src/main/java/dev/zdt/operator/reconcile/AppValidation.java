package dev.zdt.operator.reconcile;

import java.util.ArrayList;
import java.util.List;

import dev.zdt.operator.api.InvalidSpecException;
import dev.zdt.operator.api.v1alpha1.ZeroDowntimeApp;
import dev.zdt.operator.budget.DrainBudget;
import dev.zdt.operator.ingress.IngressPolicy;
import dev.zdt.operator.pod.DrainHelperConfig;
import dev.zdt.operator.pod.GateEndpoint;
import dev.zdt.operator.status.Validated;

/**
 * The validation step at the top of every reconcile of a ZeroDowntimeApp: every check of the spec
 * that the API server's schema cannot make runs here, before any child is applied, so an invalid
 * spec leaves the children as they are and its status names every problem at once. Pure: no
 * client, tested without a cluster.
 * <p>
 * Three independent checks, each reporting its first problem: the drain budget ({@code budget/DrainBudget}:
 * provider, hold, calibration, grace), the front end the operator may ask ({@code ingress/IngressPolicy}),
 * and the pod template, rendered once into the Deployment the app would get (the serving
 * container and port, the drain mode's hook and the helper's names, which the renderer and the
 * pod parts it uses refuse). The rendered Deployment is dropped.
 */
public final class AppValidation {

    /** Where the check's render points the hooks; never called, the render is dropped. */
    static final GateEndpoint NOWHERE = new GateEndpoint("gate.invalid", 80);

    private AppValidation() {
    }

    public static Validated<DrainBudget> check(ZeroDowntimeApp app, IngressPolicy ingressPolicy, DrainHelperConfig helper) {
        List<String> problems = new ArrayList<>();
        DrainBudget budget = null;
        try {
            budget = DrainBudget.of(app);
        } catch (InvalidSpecException e) {
            problems.add(e.getMessage());
        }
        // A front end the operator may not ask would hold every drain to its bound: refused up front.
        ingressPolicy.refusal(app.getSpec().getTraffic()).ifPresent(problems::add);
        try {
            if (budget != null) {
                DeploymentDependent.render(app, budget, NOWHERE, null, helper);
            } else {
                ServingContainer.of(app.getSpec()); // the template's own problems, even without a budget
            }
        } catch (InvalidSpecException e) {
            problems.add(e.getMessage());
        }
        return new Validated<>(problems.isEmpty() ? budget : null, problems);
    }
}
