package dev.zdt.operator.policy;

import java.util.ArrayList;
import java.util.List;

import dev.zdt.operator.Constants;
import dev.zdt.operator.api.InvalidSpecException;
import dev.zdt.operator.api.v1alpha1.DrainPolicy;
import dev.zdt.operator.api.v1alpha1.DrainSpec;
import dev.zdt.operator.budget.DrainBudget;
import dev.zdt.operator.status.Validated;

/**
 * The validation step at the top of every reconcile of a DrainPolicy, and the one home of its spec
 * checks: the webhook asks the same ({@link PolicyPods#budget}). Every problem is reported at once,
 * each with what to fix; the drain budget ({@code budget/DrainBudget}) reports its first. Pure.
 */
public final class PolicyValidation {

    /** The longest policy name whose {@code policy.<name>} still fits a label value. */
    static final int MAX_NAME = 63 - Constants.POLICY_APP_PREFIX.length();

    private PolicyValidation() {
    }

    public static Validated<DrainBudget> check(DrainPolicy policy) {
        List<String> problems = new ArrayList<>();
        String name = policy.getMetadata().getName();
        if (name.length() > MAX_NAME || name.contains(".")) {
            problems.add("the policy's name '" + name + "' must be at most " + MAX_NAME
                    + " characters without '.': its pods are labelled " + Constants.APP_LABEL + "="
                    + Constants.policyAppName(name) + ", a label value of at most 63 characters");
        }
        DrainSpec drain = policy.getSpec().getDrain();
        if (drain != null && drain.getMode() != null && drain.getMode() != DrainSpec.Mode.GATE) {
            problems.add("drain.mode " + drain.getMode().value() + " is not supported by a DrainPolicy; remove it (gate)");
        }
        if (policy.getSpec().getServices() == null || policy.getSpec().getServices().isEmpty()) {
            problems.add("services must name at least one Service whose endpoints route to the pods");
        }
        DrainBudget budget = null;
        try {
            budget = DrainBudget.derive(policy.getSpec().getTraffic(), drain, null);
        } catch (InvalidSpecException e) {
            problems.add(e.getMessage());
        }
        return new Validated<>(problems.isEmpty() ? budget : null, problems);
    }
}
