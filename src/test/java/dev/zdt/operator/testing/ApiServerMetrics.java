package dev.zdt.operator.testing;

import java.util.regex.Matcher;
import java.util.regex.Pattern;

import io.fabric8.kubernetes.client.KubernetesClient;

/** What the test API server says it answered, from its own /metrics. */
public final class ApiServerMetrics {

    private static final Pattern SAMPLE = Pattern.compile("^apiserver_request_total\\{([^}]*)} (\\S+)$", Pattern.MULTILINE);

    private ApiServerMetrics() {
    }

    /** Writes (APPLY, PATCH, UPDATE, POST, CREATE) of a resource ("" for no subresource) answered so far. */
    public static double writes(KubernetesClient client, String resource, String subresource) {
        String metrics = client.raw(client.getMasterUrl().toString().replaceAll("/$", "") + "/metrics");
        double total = 0;
        Matcher m = SAMPLE.matcher(metrics);
        while (m.find()) {
            String labels = m.group(1);
            if (labels.contains("resource=\"" + resource + "\"") && labels.contains("subresource=\"" + subresource + "\"")
                    && labels.matches(".*verb=\"(APPLY|PATCH|UPDATE|POST|CREATE)\".*")) {
                total += Double.parseDouble(m.group(2));
            }
        }
        return total;
    }
}
