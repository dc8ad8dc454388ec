package dev.zdt.operator.reconcile;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;

import org.junit.jupiter.api.Test;

import dev.zdt.operator.Constants;
import dev.zdt.operator.api.InvalidSpecException;
import dev.zdt.operator.api.v1alpha1.ZeroDowntimeApp;
import dev.zdt.operator.budget.DrainBudget;
import dev.zdt.operator.pod.DrainHelper;
import dev.zdt.operator.pod.DrainHelperConfig;
import dev.zdt.operator.pod.GateEndpoint;
import dev.zdt.operator.pod.PodIdentity;
import dev.zdt.operator.testing.Apps;
import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.PodReadinessGate;
import io.fabric8.kubernetes.api.model.PodSpec;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.client.utils.Serialization;

/** The Deployment as production renders it ({@link DeploymentDependent#render}), without a cluster. */
class DeploymentRenderTest {

    private static final GateEndpoint GATE = new GateEndpoint("10.96.0.20", 80);
    private static final DrainHelperConfig HELPER = new DrainHelperConfig() {
        @Override
        public String image() {
            return "localhost/zdt-drain:abc123";
        }

        @Override
        public String pullPolicy() {
            return "Never";
        }
    };

    /** Traefik (throttle 10 s) in front: hold 17 s, grace 52 s (maxRequest 30, shutdown 5). */
    static ZeroDowntimeApp app(String containers, String drain) {
        String yaml = Apps.withPodSpec(Apps.yaml("shop", "provider: traefik\nthrottleSeconds: 10", drain), containers);
        ZeroDowntimeApp app = Apps.parse(yaml);
        app.getMetadata().setNamespace("shop-ns");
        return app;
    }

    static final String WEB = Apps.WEB_POD_SPEC;

    private static Deployment render(ZeroDowntimeApp app) {
        return render(app, null);
    }

    static Deployment render(ZeroDowntimeApp app, String token) {
        var spec = app.getSpec();
        return DeploymentDependent.render(app, DrainBudget.derive(spec.getTraffic(), spec.getDrain(), spec.getStrategy()),
                GATE, token, HELPER);
    }

    @Test
    void gateAndExecPodsSendTheirOwnProjectedTokenAndOnlyHttpGetCarriesTheAppsToken() {
        String token = "v1.tok";
        for (String mode : new String[] { "", "drain:\n  mode: exec" }) {
            Deployment d = render(app(WEB, mode), token);
            assertThat(dev.zdt.operator.pod.GateToken.renderedIn(d)).as("no credential in the spec (%s)", mode).isNull();
            assertThat(Serialization.asJson(d)).doesNotContain(token);
            assertThat(pod(d).getVolumes()).filteredOn(v -> PodIdentity.VOLUME.equals(v.getName())).singleElement()
                    .satisfies(v -> {
                        var sa = v.getProjected().getSources().get(0).getServiceAccountToken();
                        assertThat(sa.getAudience()).isEqualTo(PodIdentity.AUDIENCE);
                        assertThat(sa.getExpirationSeconds()).isEqualTo(PodIdentity.EXPIRATION_SECONDS);
                        assertThat(sa.getPath()).isEqualTo(PodIdentity.FILE);
                    });
            // Mounted read-only where the hook reads it, in the serving container only.
            assertThat(web(d).getVolumeMounts()).filteredOn(m -> PodIdentity.VOLUME.equals(m.getName())).singleElement()
                    .satisfies(m -> assertThat(m.getMountPath() + " ro=" + m.getReadOnly())
                            .isEqualTo(PodIdentity.MOUNT_PATH + " ro=true"));
            assertThat(pod(d).getInitContainers()).allSatisfy(c -> assertThat(c.getVolumeMounts())
                    .noneMatch(m -> PodIdentity.VOLUME.equals(m.getName())));
        }
        assertThat(web(render(app(WEB, ""), token)).getLifecycle().getPreStop().getExec().getCommand())
                .containsSequence("--token-file", PodIdentity.TOKEN_FILE);
        assertThat(String.join(" ", web(render(app(WEB, "drain:\n  mode: exec"), token)).getLifecycle().getPreStop()
                .getExec().getCommand())).contains("token=$(cat " + PodIdentity.TOKEN_FILE).contains("Authorization: Bearer $token");

        Deployment httpGet = render(app(WEB, "drain:\n  mode: httpGet"), token);
        assertThat(web(httpGet).getLifecycle().getPreStop().getHttpGet().getHttpHeaders()).singleElement()
                .satisfies(h -> assertThat(h.getName() + ": " + h.getValue()).isEqualTo("Authorization: Bearer " + token));
        assertThat(dev.zdt.operator.pod.GateToken.renderedIn(httpGet)).isEqualTo(token);
        assertThat(pod(httpGet).getVolumes()).noneMatch(v -> PodIdentity.VOLUME.equals(v.getName()));

        Deployment sleep = render(app(WEB, "drain:\n  mode: sleep"), null);
        assertThat(dev.zdt.operator.pod.GateToken.renderedIn(sleep)).isNull();
        assertThat(pod(sleep).getVolumes()).noneMatch(v -> PodIdentity.VOLUME.equals(v.getName()));
    }

    @Test
    void aTemplateThatAlreadyUsesTheIdentityVolumeNameIsRefused() {
        assertThatThrownBy(() -> render(app(Apps.podSpec(Apps.WEB_CONTAINER
                + "  volumeMounts:\n  - {name: zdt-identity, mountPath: /x}\n"), ""), null))
                .isInstanceOf(InvalidSpecException.class).hasMessageContaining(PodIdentity.VOLUME);
    }

    private static PodSpec pod(Deployment d) {
        return d.getSpec().getTemplate().getSpec();
    }

    private static Container web(Deployment d) {
        return pod(d).getContainers().stream().filter(c -> c.getName().equals("web")).findFirst().orElseThrow();
    }

    @Test
    void gateModeRunsTheHelperForItsExactPodFromAnInitContainersCopy() {
        Deployment d = render(app(WEB, ""));

        assertThat(pod(d).getTerminationGracePeriodSeconds()).isEqualTo(52L);
        assertThat(web(d).getLifecycle().getPreStop().getExec().getCommand()).containsExactly(
                "/.zdt/zdt-drain", "prestop", "--gate", "http://10.96.0.20:80", "--namespace", "shop-ns",
                "--app", "shop", "--hold", "17", "--deadline", "47", "--token-file", PodIdentity.TOKEN_FILE);
        assertThat(web(d).getEnv()).extracting(e -> e.getName() + "=" + e.getValueFrom().getFieldRef().getFieldPath())
                .containsExactly("ZDT_POD_NAME=metadata.name", "ZDT_POD_IP=status.podIP");
        assertThat(web(d).getVolumeMounts()).extracting(m -> m.getMountPath() + " ro=" + m.getReadOnly())
                .containsExactly("/.zdt ro=true", PodIdentity.MOUNT_PATH + " ro=true");
        assertThat(pod(d).getVolumes()).extracting(v -> v.getName()).containsExactly(DrainHelper.VOLUME, PodIdentity.VOLUME);
        assertThat(pod(d).getVolumes()).first().satisfies(v -> {
            assertThat(v.getName()).isEqualTo(DrainHelper.VOLUME);
            assertThat(v.getEmptyDir().getSizeLimit().toString()).isEqualTo("32Mi");
        });
        Container init = pod(d).getInitContainers().get(0);
        assertThat(init.getImage()).isEqualTo("localhost/zdt-drain:abc123");
        assertThat(init.getImagePullPolicy()).isEqualTo("Never");
        assertThat(init.getCommand()).containsExactly("/zdt-drain", "install", "/.zdt");
        assertThat(pod(d).getReadinessGates()).extracting(PodReadinessGate::getConditionType)
                .containsExactly(Constants.IN_ROTATION_CONDITION);
    }

    @Test
    void theHelpersInitContainerMeetsTheRestrictedProfile() {
        var sc = render(app(WEB, "")).getSpec().getTemplate().getSpec().getInitContainers().get(0).getSecurityContext();
        assertThat(sc.getRunAsNonRoot()).isTrue();
        assertThat(sc.getAllowPrivilegeEscalation()).isFalse();
        assertThat(sc.getPrivileged()).isFalse();
        assertThat(sc.getReadOnlyRootFilesystem()).isTrue();
        assertThat(sc.getCapabilities().getDrop()).containsExactly("ALL");
        assertThat(sc.getCapabilities().getAdd()).isNullOrEmpty();
        assertThat(sc.getSeccompProfile().getType()).isEqualTo("RuntimeDefault");
    }

    @Test
    void theContainersOwnPreStopIsHandedToTheHelperWithItsNamedPortResolved() {
        Deployment d = render(app(Apps.podSpec(Apps.WEB_CONTAINER + """
                        - name: admin
                          containerPort: 9090
                        env:
                        - name: ZDT_POD_NAME
                          value: forged
                        - name: KEEP
                          value: "1"
                        lifecycle:
                          preStop:
                            httpGet:
                              path: /quitquitquit
                              port: admin
                      - name: sidecar
                        image: localhost/busybox:zdt
                        lifecycle:
                          preStop:
                            exec:
                              command: ["/bin/busybox", "sleep", "1"]
                      """), ""));

        List<String> command = web(d).getLifecycle().getPreStop().getExec().getCommand();
        assertThat(command).containsSubsequence("--then");
        String then = command.get(command.indexOf("--then") + 1);
        assertThat(then).contains("\"path\":\"/quitquitquit\"").contains("\"port\":9090").doesNotContain("admin");
        assertThat(web(d).getEnv()).extracting(e -> e.getName() + "=" + (e.getValue() == null ? "<downward>" : e.getValue()))
                .containsExactly("KEEP=1", "ZDT_POD_NAME=<downward>", "ZDT_POD_IP=<downward>");
        Container sidecar = pod(d).getContainers().get(1);
        assertThat(sidecar.getLifecycle().getPreStop().getExec().getCommand())
                .as("only the serving container's hook changes").containsExactly("/bin/busybox", "sleep", "1");
    }

    @Test
    void anExecPreStopIsKeptAsItWas() {
        Deployment d = render(app(WEB + """
                        lifecycle:
                          preStop:
                            exec:
                              command: ["/app/flush", "--all"]
                """, ""));
        List<String> command = web(d).getLifecycle().getPreStop().getExec().getCommand();
        assertThat(command.get(command.indexOf("--then") + 1))
                .isEqualTo("{\"exec\":{\"command\":[\"/app/flush\",\"--all\"]}}");
    }

    @Test
    void anUndeclaredPortInTheOwnPreStopIsRefused() {
        assertThatThrownBy(() -> render(app(WEB + """
                        lifecycle:
                          preStop:
                            httpGet:
                              path: /quit
                              port: nope
                """, ""))).isInstanceOf(InvalidSpecException.class).hasMessageContaining("names port 'nope'");
    }

    @Test
    void modesThatReplaceTheHookRefuseAContainerWithItsOwnInsteadOfDroppingIt() {
        for (String mode : List.of("sleep", "exec", "httpGet")) {
            assertThatThrownBy(() -> render(app(WEB + """
                            lifecycle:
                              preStop:
                                sleep:
                                  seconds: 3
                    """, "drain:\n  mode: " + mode)))
                    .as(mode).isInstanceOf(InvalidSpecException.class)
                    .hasMessageContaining("drain.mode " + mode + " would replace");
        }
    }

    @Test
    void httpGetModeIsTheOptInHookWithAHost() {
        Deployment d = render(app(WEB, "drain:\n  mode: httpGet"));
        assertThat(web(d).getLifecycle().getPreStop().getHttpGet().getHost()).isEqualTo("10.96.0.20");
        assertThat(web(d).getLifecycle().getPreStop().getHttpGet().getPath()).isEqualTo("/gate/v1/shop-ns/shop");
        assertThat(pod(d).getInitContainers()).isEmpty();
        assertThat(pod(d).getReadinessGates()).extracting(PodReadinessGate::getConditionType)
                .containsExactly(Constants.IN_ROTATION_CONDITION);
    }

    @Test
    void sleepModeNeedsNeitherHelperNorReadinessGate() {
        Deployment d = render(app(WEB, "drain:\n  mode: sleep"));
        assertThat(web(d).getLifecycle().getPreStop().getSleep().getSeconds()).isEqualTo(17L);
        assertThat(pod(d).getInitContainers()).isEmpty();
        assertThat(pod(d).getVolumes()).isEmpty();
        assertThat(pod(d).getReadinessGates()).isEmpty();
    }

    @Test
    void aTemplateUsingTheHelpersNamesIsRefused() {
        assertThatThrownBy(() -> render(app(WEB + """
                      volumes:
                      - name: zdt-drain
                        emptyDir: {}
                """, ""))).isInstanceOf(InvalidSpecException.class).hasMessageContaining("volume 'zdt-drain'");
    }
    /** The demo app's stream ports: HTTP (the Service's) and its WebSocket listener. */
    private static final String WEB_AND_WS = Apps.podSpec(Apps.WEB_CONTAINER + "  - name: ws\n    containerPort: 8081\n");

    @Test
    void theStreamPhaseLengthensTheGraceAndIsHandedToTheHelperWithItsPortsResolved() {
        Deployment d = render(app(WEB_AND_WS, """
                drain:
                  streams:
                    windDownSeconds: 30
                    signal:
                      path: /drain-streams
                      port: http
                      httpHeaders:
                      - {name: X-Drain-Token, value: t0k}
                    ports: [ws, 8080]
                """));
        // 52 s without streams (hold 17 + request 30 + shutdown 5) + 30 s wind-down.
        assertThat(pod(d).getTerminationGracePeriodSeconds()).isEqualTo(82L);
        assertThat(web(d).getLifecycle().getPreStop().getExec().getCommand()).containsExactly(
                "/.zdt/zdt-drain", "prestop", "--gate", "http://10.96.0.20:80", "--namespace", "shop-ns",
                "--app", "shop", "--hold", "17", "--deadline", "77", "--token-file", PodIdentity.TOKEN_FILE,
                "--streams-wait", "30",
                "--streams-signal", "{\"httpGet\":{\"httpHeaders\":[{\"name\":\"X-Drain-Token\",\"value\":\"t0k\"}],"
                        + "\"path\":\"/drain-streams\",\"port\":8080}}",
                "--streams-ports", "8080,8081");
    }

    @Test
    void theStreamPhaseWatchesTheServicesPortByDefaultAndNothingWithoutWaiting() {
        List<String> command = web(render(app(WEB_AND_WS, "drain:\n  streams:\n    windDownSeconds: 10\n")))
                .getLifecycle().getPreStop().getExec().getCommand();
        assertThat(command.subList(command.indexOf("--streams-wait"), command.size()))
                .containsExactly("--streams-wait", "10", "--streams-ports", "8080");
        command = web(render(app(WEB_AND_WS, "drain:\n  streams:\n    windDownSeconds: 10\n    waitForConnections: false\n"
                + "    signal: {port: 8081, path: /bye}\n"))).getLifecycle().getPreStop().getExec().getCommand();
        assertThat(command.subList(command.indexOf("--streams-wait"), command.size())).containsExactly("--streams-wait", "10",
                "--streams-signal", "{\"httpGet\":{\"path\":\"/bye\",\"port\":8081}}");
        assertThat(web(render(app(WEB_AND_WS, "drain:\n  streams:\n    windDownSeconds: 0\n"))).getLifecycle().getPreStop()
                .getExec().getCommand()).noneMatch(a -> a.startsWith("--streams"));
    }

    @Test
    void aStreamPortTheContainerDoesNotDeclareIsRefusedWithTheDeclaredPorts() {
        assertThatThrownBy(() -> render(app(WEB_AND_WS, "drain:\n  streams:\n    windDownSeconds: 10\n    ports: [grpc]\n")))
                .isInstanceOf(InvalidSpecException.class)
                .hasMessage("drain.streams.ports names port 'grpc', which container 'web' does not declare; "
                        + "declared ports: http=8080, ws=8081");
        assertThatThrownBy(() -> render(app(WEB_AND_WS, "drain:\n  streams:\n    windDownSeconds: 10\n    ports: [9090]\n")))
                .isInstanceOf(InvalidSpecException.class)
                .hasMessageContaining("drain.streams.ports 9090 is not a port of container 'web'");
        assertThatThrownBy(() -> render(app(WEB_AND_WS,
                "drain:\n  streams:\n    windDownSeconds: 10\n    signal: {port: admin, path: /bye}\n")))
                .isInstanceOf(InvalidSpecException.class).hasMessageContaining("drain.streams.signal.port names port 'admin'");
        assertThatThrownBy(() -> render(app(WEB_AND_WS, "drain:\n  streams:\n    windDownSeconds: 10\n"
                + "    signal: {port: 8080, httpHeaders: [{name: 'X Bad', value: v}]}\n")))
                .isInstanceOf(InvalidSpecException.class).hasMessageContaining("a header named 'X Bad'");
    }
}
