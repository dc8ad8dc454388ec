package dev.zdt.operator.gate;

import java.util.Optional;
import java.util.regex.Pattern;

import dev.zdt.operator.Constants;

/**
 * The names in a gate path, checked before the gate looks anything up: a name Kubernetes could not
 * have given is refused with 400 and the rule it breaks, never held. Pure.
 */
final class GatePath {

    /** DNS-1123 label: namespaces, and app names (they are label values of the pods, at most 63). */
    private static final Pattern LABEL = Pattern.compile("[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?");
    /** DNS-1123 subdomain: pod names. */
    private static final Pattern SUBDOMAIN = Pattern.compile("[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*");
    private static final int SUBDOMAIN_MAX = 253;
    private static final int ECHO_MAX = 64;

    static final String USAGE = "the gate answers GET /gate/v1/{namespace}/{app} and GET /gate/v1/{namespace}/{app}/{pod}";

    private GatePath() {
    }

    /** What is wrong with the names, or empty when the gate may look them up; pod may be null. */
    static Optional<String> problem(String namespace, String app, String pod) {
        if (!LABEL.matcher(namespace).matches()) {
            return Optional.of(notA("namespace", namespace, "DNS-1123 label: 1 to 63 lowercase letters, digits or '-', "
                    + "starting and ending with a letter or digit"));
        }
        if (!LABEL.matcher(app).matches() && !policyApp(app)) {
            return Optional.of(notA("app", app, "ZeroDowntimeApp name the gate can serve (a DNS-1123 label: 1 to 63 "
                    + "lowercase letters, digits or '-', starting and ending with a letter or digit)"));
        }
        if (pod != null && (pod.length() > SUBDOMAIN_MAX || !SUBDOMAIN.matcher(pod).matches())) {
            return Optional.of(notA("pod", pod, "pod name (a DNS-1123 subdomain: at most 253 lowercase letters, digits, "
                    + "'-' or '.', each part starting and ending with a letter or digit)"));
        }
        return Optional.empty();
    }

    /** {@code policy.<name>}: the pods of a DrainPolicy (see Constants.POLICY_APP_PREFIX), at most 63 like any label value. */
    private static boolean policyApp(String app) {
        return app.length() <= 63 && app.startsWith(Constants.POLICY_APP_PREFIX)
                && LABEL.matcher(app.substring(Constants.POLICY_APP_PREFIX.length())).matches();
    }

    private static String notA(String what, String value, String rule) {
        return what + " '" + echo(value) + "' (" + value.length() + " characters) is not a valid " + rule
                + "; not holding";
    }

    /** The caller's text, shortened and printable, so that an answer never carries what it should not. */
    static String echo(String value) {
        StringBuilder b = new StringBuilder();
        value.codePoints().limit(ECHO_MAX).forEach(c -> b.append(c >= 0x20 && c < 0x7f ? (char) c : '?'));
        return value.length() > ECHO_MAX ? b + "..." : b.toString();
    }
}
