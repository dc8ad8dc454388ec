package dev.zdt.operator.ingress;

import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.Set;
import java.util.stream.Collectors;

import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;

import dev.zdt.operator.api.v1alpha1.ControllerRef;
import dev.zdt.operator.api.v1alpha1.TrafficSpec;

/**
 * The cluster admin's limits on where the operator goes to ask an ingress controller: a tenant's
 * {@code traffic.apiUrl} must be on the allow-list (else the operator would fetch any URL from its
 * own network position), and {@code traffic.controller} may be limited to some namespaces.
 */
@ApplicationScoped
public class IngressPolicy {

    private final Set<String> allowedApiUrls;
    private final Set<String> controllerNamespaces;

    @Inject
    public IngressPolicy(IngressConfig config) {
        this(config.allowedApiUrls().orElse(List.of()), config.controllerNamespaces().orElse(List.of()));
    }

    public IngressPolicy(List<String> allowedApiUrls, List<String> controllerNamespaces) {
        this.allowedApiUrls = allowedApiUrls.stream().map(String::trim).filter(s -> !s.isEmpty())
                .map(IngressPolicy::normalize).collect(Collectors.toUnmodifiableSet());
        this.controllerNamespaces = controllerNamespaces.stream().map(String::trim).filter(s -> !s.isEmpty())
                .collect(Collectors.toUnmodifiableSet());
    }

    /** Why the app's traffic settings name a front end the operator must not ask, or empty when they do not. */
    public Optional<String> refusal(TrafficSpec traffic) {
        if (traffic == null || traffic.getVerify() != TrafficSpec.Verify.INGRESS) {
            return Optional.empty();
        }
        if (traffic.getApiUrl() != null && !allowedApiUrls.contains(normalize(traffic.getApiUrl()))) {
            return Optional.of("traffic.apiUrl " + traffic.getApiUrl() + " is not on the operator's allow-list "
                    + (allowedApiUrls.isEmpty() ? "(empty)" : "(" + allowedApiUrls.size() + " URLs)")
                    + ": name the ingress controller's Service with traffic.controller {namespace, service, port}, "
                    + "or have the cluster admin add the URL to the chart value ingress.allowedApiUrls "
                    + "(zdt.ingress.allowed-api-urls)");
        }
        ControllerRef c = traffic.getController();
        if (c != null && !controllerNamespaces.isEmpty() && !controllerNamespaces.contains(c.getNamespace())) {
            return Optional.of("traffic.controller.namespace " + c.getNamespace()
                    + " is not one of the namespaces the operator may ask an ingress controller in ("
                    + String.join(", ", controllerNamespaces.stream().sorted().toList())
                    + "; chart value ingress.controllerNamespaces)");
        }
        return Optional.empty();
    }

    /** Scheme and host compare case-insensitively; a trailing slash does not count. */
    static String normalize(String url) {
        String s = url.trim();
        while (s.endsWith("/")) {
            s = s.substring(0, s.length() - 1);
        }
        int path = s.indexOf('/', s.indexOf("://") + 3);
        if (s.indexOf("://") < 0) {
            return s;
        }
        return path < 0 ? s.toLowerCase(Locale.ROOT) : s.substring(0, path).toLowerCase(Locale.ROOT) + s.substring(path);
    }
}
