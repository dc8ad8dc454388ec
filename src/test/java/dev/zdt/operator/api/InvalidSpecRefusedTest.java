package dev.zdt.operator.api;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.stream.Stream;

import jakarta.inject.Inject;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import dev.zdt.operator.testing.Apps;
import dev.zdt.operator.testing.KubeApiServerResource;
import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.api.model.NamespaceBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.fabric8.kubernetes.client.utils.Serialization;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.junit.QuarkusTest;

/** Bad ZeroDowntimeApps are refused by the real API server, with a message that says what to fix. */
@QuarkusTest
@QuarkusTestResource(value = KubeApiServerResource.class, restrictToAnnotatedClass = false)
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class InvalidSpecRefusedTest {

    private static final String NS = "invalid-specs";

    @Inject
    KubernetesClient client;

    @BeforeAll
    void namespace() {
        if (client.namespaces().withName(NS).get() == null) {
            client.resource(new NamespaceBuilder().withNewMetadata().withName(NS).endMetadata().build()).create();
        }
    }

    private static final String CONTAINERS = "  template:\n    spec:\n" + Apps.WEB_POD_SPEC;

    private static String app(String spec) {
        return "apiVersion: zdt.dev/v1alpha1\nkind: ZeroDowntimeApp\nmetadata:\n  name: bad\nspec:\n" + spec;
    }

    private static String withTraffic(String traffic, String rest) {
        return app(CONTAINERS + "  traffic:\n" + traffic.indent(4) + rest);
    }

    static Stream<Arguments> badApps() {
        return Stream.of(
                Arguments.of("no traffic section", app(CONTAINERS), "spec.traffic: Required value"),
                Arguments.of("unknown provider", withTraffic("provider: nginx-plus", ""),
                        "spec.traffic.provider: Unsupported value: \"nginx-plus\""),
                Arguments.of("traefik knob on ingress-nginx", withTraffic("provider: ingress-nginx\nthrottleSeconds: 3", ""),
                        "throttleSeconds applies only to provider traefik"),
                Arguments.of("sync knob on traefik", withTraffic("provider: traefik\nsyncSeconds: 3", ""),
                        "syncSeconds applies only to providers ingress-nginx and haproxy"),
                Arguments.of("probe on traefik", withTraffic("provider: traefik\nprobe:\n  intervalSeconds: 5", ""),
                        "probe applies only to providers"),
                Arguments.of("alb knob on gce", withTraffic("provider: gce\nderegistrationDelaySeconds: 30", ""),
                        "deregistrationDelaySeconds applies only to provider aws-alb"),
                Arguments.of("generic without propagation", withTraffic("provider: generic", ""),
                        "provider generic needs propagationSeconds"),
                Arguments.of("ingress verification for a load balancer without a verifier",
                        withTraffic("provider: aws-alb\nverify: ingress\napiUrl: http://lb:9000", ""),
                        "verify: ingress is implemented for providers traefik, envoy (its admin API) and health-probe"),
                Arguments.of("health-probe verification by URL",
                        withTraffic("provider: health-probe\nverify: ingress\napiUrl: http://lb:9000", ""),
                        "verify: ingress with provider health-probe needs controller"),
                Arguments.of("ingress verification without the API's URL", withTraffic("provider: traefik\nverify: ingress", ""),
                        "verify: ingress needs controller, the Service in front of the ingress controller's API"),
                Arguments.of("ingress verification naming both a controller and a URL", withTraffic("""
                        provider: traefik
                        verify: ingress
                        apiUrl: http://10.0.0.1:9000
                        controller: {namespace: ingress, service: traefik, port: api}""", ""),
                        "set controller or apiUrl, not both"),
                Arguments.of("controller without its port", withTraffic(
                        "provider: traefik\nverify: ingress\ncontroller: {namespace: ingress, service: traefik}", ""),
                        "spec.traffic.controller.port: Required value"),
                Arguments.of("API URL that is not http(s)", withTraffic(
                        "provider: traefik\nverify: ingress\napiUrl: file:///etc/passwd", ""),
                        "spec.traffic.apiUrl in body should match"),
                Arguments.of("unknown verification", withTraffic("provider: traefik\nverify: ping", ""),
                        "spec.traffic.verify: Unsupported value: \"ping\""),
                Arguments.of("probe timeout longer than its interval",
                        withTraffic("provider: health-probe\nprobe:\n  intervalSeconds: 5\n  timeoutSeconds: 10", ""),
                        "probe.timeoutSeconds must not exceed probe.intervalSeconds"),
                Arguments.of("rollout that cannot progress", withTraffic("provider: traefik",
                        "  strategy:\n    maxSurge: 0\n    maxUnavailable: 0\n"),
                        "maxSurge and maxUnavailable cannot both be 0"),
                Arguments.of("negative replicas", withTraffic("provider: traefik", "  replicas: -1\n"),
                        "spec.replicas: Invalid value: -1: spec.replicas in body should be greater than or equal to 0"),
                Arguments.of("absurd request time", withTraffic("provider: traefik", "  drain:\n    maxRequestSeconds: 100000\n"),
                        "spec.drain.maxRequestSeconds in body should be less than or equal to 3600"),
                Arguments.of("grace override shorter than hold + request + shutdown", withTraffic("provider: traefik",
                        "  drain:\n    holdSeconds: 20\n    terminationGracePeriodSeconds: 40\n"),
                        "terminationGracePeriodSeconds must be at least holdSeconds + streams.windDownSeconds + maxRequestSeconds + shutdownSeconds"),
                Arguments.of("grace override shorter than request + shutdown", withTraffic("provider: traefik",
                        "  drain:\n    terminationGracePeriodSeconds: 20\n"),
                        "terminationGracePeriodSeconds must be at least streams.windDownSeconds + maxRequestSeconds + shutdownSeconds"),
                Arguments.of("grace override shorter than stream wind-down + request + shutdown", withTraffic("provider: traefik",
                        "  drain:\n    terminationGracePeriodSeconds: 60\n    streams:\n      windDownSeconds: 30\n"),
                        "terminationGracePeriodSeconds must be at least streams.windDownSeconds + maxRequestSeconds + shutdownSeconds"),
                Arguments.of("negative stream wind-down", withTraffic("provider: traefik",
                        "  drain:\n    streams:\n      windDownSeconds: -5\n"),
                        "spec.drain.streams.windDownSeconds in body should be greater than or equal to 0"),
                Arguments.of("stream wind-down beyond an hour", withTraffic("provider: traefik",
                        "  drain:\n    streams:\n      windDownSeconds: 86400\n"),
                        "spec.drain.streams.windDownSeconds in body should be less than or equal to 3600"),
                Arguments.of("stream signal without a wind-down", withTraffic("provider: traefik",
                        "  drain:\n    streams:\n      signal: {port: 8080, path: /drain-streams}\n"),
                        "streams.signal and streams.ports need streams.windDownSeconds above 0"),
                Arguments.of("stream signal without a port", withTraffic("provider: traefik",
                        "  drain:\n    streams:\n      windDownSeconds: 10\n      signal: {path: /drain-streams}\n"),
                        "spec.drain.streams.signal.port: Required value"),
                Arguments.of("stream signal path without a slash", withTraffic("provider: traefik",
                        "  drain:\n    streams:\n      windDownSeconds: 10\n      signal: {port: 8080, path: drain}\n"),
                        "spec.drain.streams.signal.path in body should match"),
                Arguments.of("stream phase in sleep mode", withTraffic("provider: traefik",
                        "  drain:\n    mode: sleep\n    streams:\n      windDownSeconds: 10\n"),
                        "streams.windDownSeconds needs mode gate"),
                Arguments.of("hand-set grace in the template", app("""
                          template:
                            spec:
                              terminationGracePeriodSeconds: 30
                              containers:
                              - name: web
                                image: localhost/demo-app:latest
                          traffic:
                            provider: traefik
                        """), "template.spec.terminationGracePeriodSeconds is derived by the operator"),
                Arguments.of("unknown drain mode", withTraffic("provider: traefik", "  drain:\n    mode: pause\n"),
                        "spec.drain.mode: Unsupported value: \"pause\""),
                Arguments.of("ingress host that is not a DNS name", withTraffic("provider: traefik",
                        "  ingress:\n    host: Not_A_Host\n"), "spec.ingress.host in body should match"),
                Arguments.of("ingress path without a leading slash", withTraffic("provider: traefik",
                        "  ingress:\n    host: shop.example.com\n    path: api\n"), "spec.ingress.path in body should match"),
                Arguments.of("ingress without a host", withTraffic("provider: traefik",
                        "  ingress:\n    className: traefik\n"), "spec.ingress.host: Required value"),
                Arguments.of("service type the operator does not render", withTraffic("provider: traefik",
                        "  service:\n    type: ExternalName\n"), "spec.service.type: Unsupported value: \"ExternalName\""),
                Arguments.of("service port out of range", withTraffic("provider: traefik",
                        "  service:\n    port: 70000\n"), "spec.service.port in body should be less than or equal to 65535"),
                Arguments.of("no containers", app("""
                          template:
                            spec:
                              containers: []
                          traffic:
                            provider: traefik
                        """), "template.spec.containers must name at least one container"),
                Arguments.of("watch latency beyond a minute", withTraffic("provider: traefik\nwatchSeconds: 600", ""),
                        "spec.traffic.watchSeconds in body should be less than or equal to 60"));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("badApps")
    void isRefusedWithAMessageThatSaysWhatToFix(String why, String yaml, String expectedMessage) {
        GenericKubernetesResource bad = Serialization.unmarshal(yaml, GenericKubernetesResource.class);

        assertThatThrownBy(() -> client.genericKubernetesResources("zdt.dev/v1alpha1", "ZeroDowntimeApp")
                .inNamespace(NS).resource(bad).create())
                .isInstanceOfSatisfying(KubernetesClientException.class, e -> {
                    assertThat(e.getCode()).isEqualTo(422);
                    assertThat(e.getMessage()).contains(expectedMessage);
                });
    }
}
