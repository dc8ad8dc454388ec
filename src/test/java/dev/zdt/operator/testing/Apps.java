package dev.zdt.operator.testing;

import dev.zdt.operator.api.v1alpha1.ZeroDowntimeApp;
import io.fabric8.kubernetes.client.utils.Serialization;

/** ZeroDowntimeApp manifests for tests, written as users write them: YAML. */
public final class Apps {

    private Apps() {
    }

    /** A valid app behind Traefik; {@code extraSpec} is YAML indented by two spaces, appended to spec. */
    public static String yaml(String name, String extraSpec) {
        return """
                apiVersion: zdt.dev/v1alpha1
                kind: ZeroDowntimeApp
                metadata:
                  name: %s
                spec:
                  replicas: 2
                  template:
                    spec:
                      containers:
                      - name: web
                        image: localhost/demo-app:latest
                        ports:
                        - name: http
                          containerPort: 8080
                  traffic:
                    provider: traefik
                    throttleSeconds: 10
                %s
                """.formatted(name, extraSpec.indent(2).stripTrailing());
    }

    public static ZeroDowntimeApp parse(String yaml) {
        return Serialization.unmarshal(yaml, ZeroDowntimeApp.class);
    }
}
