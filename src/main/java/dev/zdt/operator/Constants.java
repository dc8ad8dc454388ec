package dev.zdt.operator;

/** Names shared by the reconciler, the gate, the chart and the docs: one name for one thing. */
public final class Constants {

    public static final String OPERATOR_NAME = "zdt-operator";
    public static final String MANAGED_BY_LABEL = "app.kubernetes.io/managed-by";
    public static final String NAME_LABEL = "app.kubernetes.io/name";
    public static final String INSTANCE_LABEL = "app.kubernetes.io/instance";
    public static final String COMPONENT_LABEL = "app.kubernetes.io/component";
    /** Selector label: the ZeroDowntimeApp a pod belongs to. */
    public static final String APP_LABEL = "zdt.dev/app";
    /** Pod template annotation: hash of the drain budget, so a timing change rolls the pods. */
    public static final String BUDGET_HASH_ANNOTATION = "zdt.dev/budget-hash";
    /** Pod template annotation: the hold bound the pods were created with (the gate uses it). */
    public static final String HOLD_ANNOTATION = "zdt.dev/hold-seconds";
    /**
     * Pod condition listed in spec.readinessGates: an operator replica admitted the new pod into
     * rotation (warm-in, gate and exec modes).
     */
    public static final String IN_ROTATION_CONDITION = "zdt.dev/in-rotation";
    /** Path of the drain gate; the kubelet calls {@code /gate/v1/{namespace}/{app}}. */
    public static final String GATE_PATH = "/gate/v1";
    /**
     * Prefix of the gate's app name for pods of a DrainPolicy: {@code policy.<name>} in the pods'
     * {@link #APP_LABEL} and in the drain helper's calls. A ZeroDowntimeApp's name is a DNS-1123
     * label, which has no '.', so the two can never collide.
     */
    public static final String POLICY_APP_PREFIX = "policy.";
    /** Namespace label that opts a namespace's pods in to the DrainPolicy webhook; pod annotation naming the policy. */
    public static final String DRAIN_POLICY_LABEL = "zdt.dev/drain-policy";
    public static final String DRAIN_POLICY_ENABLED = "enabled";
    public static final String SELECTOR_MANAGED = MANAGED_BY_LABEL + "=" + OPERATOR_NAME;
    /**
     * Service label, set by the owner of the Service's namespace: apps of other namespaces may name
     * this Service as their {@code traffic.controller} (value {@link #FRONT_END_MARK}). Without it
     * the operator asks a Service only for apps of its own namespace.
     */
    public static final String FRONT_END_LABEL = "zdt.dev/front-end";
    public static final String FRONT_END_MARK = "true";
    /**
     * Service annotation beside {@link #FRONT_END_LABEL}: the namespaces whose apps may name it,
     * comma-separated ({@code "shop,cart"}). Absent: any namespace.
     */
    public static final String FRONT_END_NAMESPACES_ANNOTATION = "zdt.dev/front-end-namespaces";

    private Constants() {
    }

    /** The app key under which the gate holds a DrainPolicy's pods: {@code policy.<name>}. */
    public static String policyAppName(String policy) {
        return POLICY_APP_PREFIX + policy;
    }

    /** The DrainPolicy an app key names, or null for a ZeroDowntimeApp's. */
    public static String policyOf(String app) {
        return app != null && app.startsWith(POLICY_APP_PREFIX) ? app.substring(POLICY_APP_PREFIX.length()) : null;
    }
}
