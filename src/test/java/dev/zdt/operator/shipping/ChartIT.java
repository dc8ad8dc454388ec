package dev.zdt.operator.shipping;

import static dev.zdt.operator.testing.Chart.all;
import static dev.zdt.operator.testing.Chart.one;
import static dev.zdt.operator.testing.Chart.render;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;

import org.junit.jupiter.api.Test;

import dev.zdt.operator.testing.Chart;
import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.ContainerPort;
import io.fabric8.kubernetes.api.model.EnvVar;
import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.admissionregistration.v1.MutatingWebhookConfiguration;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.admissionregistration.v1.ValidatingAdmissionPolicy;
import io.fabric8.kubernetes.api.model.admissionregistration.v1.ValidatingAdmissionPolicyBinding;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.api.model.networking.v1.NetworkPolicy;
import io.fabric8.kubernetes.api.model.rbac.ClusterRole;
import io.fabric8.kubernetes.api.model.rbac.ClusterRoleBinding;
import io.fabric8.kubernetes.api.model.rbac.PolicyRule;
import io.fabric8.kubernetes.api.model.rbac.Role;
import io.fabric8.kubernetes.api.model.rbac.RoleBinding;

/** The chart lints and renders what an operator install needs, with the helm built by e2e/cluster. */
class ChartIT {

    private static Deployment operator(List<HasMetadata> objects) {
        return one(objects, Deployment.class, "zdt-zdt-operator");
    }

    private static Container container(List<HasMetadata> objects) {
        return operator(objects).getSpec().getTemplate().getSpec().getContainers().get(0);
    }

    @Test
    void chartLints() throws Exception {
        assertThat(Chart.helm("lint", "--strict", Chart.DIR.toString())).contains("0 chart(s) failed");
    }

    @Test
    void chartRendersTwoReplicasLeastPrivilegeRbacAndTheGateService() throws Exception {
        List<HasMetadata> objects = render();

        Deployment operator = operator(objects);
        assertThat(operator.getSpec().getReplicas()).isEqualTo(2);
        assertThat(container(objects).getReadinessProbe().getHttpGet().getPath()).isEqualTo("/q/health/ready");
        one(objects, Service.class, "zdt-zdt-operator-gate");
        ClusterRole role = one(objects, ClusterRole.class, "zdt-zdt-operator");
        noWildcards(objects);
        // The gate and the status aggregator only read pods: nothing in the chart lets the operator change them.
        assertThat(role.getRules()).filteredOn(r -> r.getResources().contains("pods"))
                .allSatisfy(r -> assertThat(r.getVerbs()).containsOnly("get", "list", "watch"));
        // A DrainPolicy's pods' owners are read for their minReadySeconds, one get each: no list, no write.
        assertThat(role.getRules()).filteredOn(r -> r.getResources().contains("statefulsets")).singleElement()
                .satisfies(r -> {
                    assertThat(r.getApiGroups()).containsExactly("apps");
                    assertThat(r.getResources()).containsExactly("replicasets", "statefulsets", "daemonsets");
                    assertThat(r.getVerbs()).containsExactly("get");
                });
    }

    @Test
    void healthAndMetricsAreOnTheManagementPortWhichTheGateServiceDoesNotExpose() throws Exception {
        List<HasMetadata> objects = render("--set", "metrics.serviceMonitor.enabled=true");
        Container c = container(objects);
        assertThat(c.getPorts()).extracting(ContainerPort::getName, ContainerPort::getContainerPort)
                .containsExactlyInAnyOrder(org.assertj.core.groups.Tuple.tuple("http", 8080),
                        org.assertj.core.groups.Tuple.tuple("management", 9000),
                        org.assertj.core.groups.Tuple.tuple("webhook", 8443));
        assertThat(c.getEnv()).anySatisfy(e -> {
            assertThat(e.getName()).isEqualTo("QUARKUS_MANAGEMENT_PORT");
            assertThat(e.getValue()).isEqualTo("9000");
        });
        for (var probe : List.of(c.getLivenessProbe(), c.getReadinessProbe(), c.getStartupProbe())) {
            assertThat(probe.getHttpGet().getPath()).startsWith("/q/health/");
            assertThat(probe.getHttpGet().getPort().getStrVal()).isEqualTo("management");
        }

        Service gate = one(objects, Service.class, "zdt-zdt-operator-gate");
        assertThat(gate.getSpec().getPorts()).singleElement().satisfies(p -> {
            assertThat(p.getName()).isEqualTo("gate");
            assertThat(p.getTargetPort().getStrVal()).isEqualTo("http");
        });
        Service metrics = one(objects, Service.class, "zdt-zdt-operator-metrics");
        assertThat(metrics.getSpec().getPorts()).singleElement().satisfies(p -> {
            assertThat(p.getName()).isEqualTo("http-metrics");
            assertThat(p.getPort()).isEqualTo(9000);
            assertThat(p.getTargetPort().getStrVal()).isEqualTo("management");
        });
        GenericKubernetesResource monitor = all(objects, GenericKubernetesResource.class).stream()
                .filter(o -> "ServiceMonitor".equals(o.getKind())).findFirst().orElseThrow();
        assertThat(monitor.<String>get("spec", "endpoints", 0, "port")).isEqualTo("http-metrics");
        assertThat(monitor.<String>get("spec", "endpoints", 0, "path")).isEqualTo("/q/metrics");
        assertThat(monitor.<String>get("spec", "selector", "matchLabels", "app.kubernetes.io/component"))
                .isEqualTo(metrics.getMetadata().getLabels().get("app.kubernetes.io/component"));
    }

    @Test
    void metricsNeedAReaderWhoseTokenTheServiceMonitorSendsAndTheOperatorMayAskAboutIt() throws Exception {
        List<HasMetadata> objects = render("--set", "metrics.serviceMonitor.enabled=true");
        noWildcards(objects);
        assertThat(env(container(objects), "ZDT_METRICS_AUTH_ENABLED")).isEqualTo("true");
        // The operator may ask whether a scraper may read the metrics: create on SubjectAccessReviews, nothing else.
        assertThat(one(objects, ClusterRole.class, "zdt-zdt-operator-metrics-auth").getRules()).singleElement().satisfies(r -> {
            assertThat(r.getApiGroups()).containsExactly("authorization.k8s.io");
            assertThat(r.getResources()).containsExactly("subjectaccessreviews");
            assertThat(r.getVerbs()).containsExactly("create");
        });
        assertThat(one(objects, ClusterRoleBinding.class, "zdt-zdt-operator-metrics-auth").getSubjects()).singleElement()
                .satisfies(ChartIT::isTheOperator);
        // Scrapers: get on /q/metrics and nothing else, bound to no one unless named.
        assertThat(one(objects, ClusterRole.class, "zdt-zdt-operator-metrics-reader").getRules()).singleElement()
                .satisfies(r -> {
                    assertThat(r.getNonResourceURLs()).containsExactly("/q/metrics");
                    assertThat(r.getVerbs()).containsExactly("get");
                    assertThat(r.getResources()).isNullOrEmpty();
                });
        assertThat(all(objects, ClusterRoleBinding.class)).noneMatch(b -> b.getMetadata().getName().endsWith("-metrics-reader"));
        // Prometheus sends its own ServiceAccount's token by default...
        GenericKubernetesResource monitor = all(objects, GenericKubernetesResource.class).stream()
                .filter(o -> "ServiceMonitor".equals(o.getKind())).findFirst().orElseThrow();
        assertThat(monitor.<String>get("spec", "endpoints", 0, "bearerTokenFile"))
                .isEqualTo("/var/run/secrets/kubernetes.io/serviceaccount/token");
        assertThat(monitor.<Object>get("spec", "endpoints", 0, "authorization")).isNull();

        // ...or one from a Secret; and the chart binds the readers it is given.
        List<HasMetadata> named = render("--set", "metrics.serviceMonitor.enabled=true",
                "--set", "metrics.serviceMonitor.tokenSecret.name=zdt-scraper-token",
                "--set-json", "metrics.auth.readers=[{\"kind\":\"ServiceAccount\",\"name\":\"prometheus-k8s\","
                        + "\"namespace\":\"monitoring\"}]");
        GenericKubernetesResource withSecret = all(named, GenericKubernetesResource.class).stream()
                .filter(o -> "ServiceMonitor".equals(o.getKind())).findFirst().orElseThrow();
        assertThat(withSecret.<String>get("spec", "endpoints", 0, "authorization", "type")).isEqualTo("Bearer");
        assertThat(withSecret.<String>get("spec", "endpoints", 0, "authorization", "credentials", "name"))
                .isEqualTo("zdt-scraper-token");
        assertThat(withSecret.<String>get("spec", "endpoints", 0, "authorization", "credentials", "key")).isEqualTo("token");
        assertThat(withSecret.<Object>get("spec", "endpoints", 0, "bearerTokenFile")).isNull();
        ClusterRoleBinding readers = one(named, ClusterRoleBinding.class, "zdt-zdt-operator-metrics-reader");
        assertThat(readers.getRoleRef().getName()).isEqualTo("zdt-zdt-operator-metrics-reader");
        assertThat(readers.getSubjects()).singleElement().satisfies(sub -> {
            assertThat(sub.getKind()).isEqualTo("ServiceAccount");
            assertThat(sub.getName()).isEqualTo("prometheus-k8s");
            assertThat(sub.getNamespace()).isEqualTo("monitoring");
        });
        lints("--set", "metrics.serviceMonitor.tokenSecret.name=zdt-scraper-token");

        // Off: no SubjectAccessReviews for the operator, no token sent.
        List<HasMetadata> off = render("--set", "metrics.serviceMonitor.enabled=true", "--set", "metrics.auth.enabled=false");
        assertThat(env(container(off), "ZDT_METRICS_AUTH_ENABLED")).isEqualTo("false");
        assertThat(all(off, ClusterRole.class)).noneMatch(r -> r.getMetadata().getName().endsWith("-metrics-auth"));
        assertThat(all(off, ClusterRoleBinding.class)).noneMatch(b -> b.getMetadata().getName().endsWith("-metrics-auth"));
        GenericKubernetesResource open = all(off, GenericKubernetesResource.class).stream()
                .filter(o -> "ServiceMonitor".equals(o.getKind())).findFirst().orElseThrow();
        assertThat(open.<Object>get("spec", "endpoints", 0, "bearerTokenFile")).isNull();
        assertThat(open.<Object>get("spec", "endpoints", 0, "authorization")).isNull();
    }

    @Test
    void rbacFollowsTheConventionsOpenShiftAndTheBuiltInRolesExpect() throws Exception {
        List<HasMetadata> objects = render();
        noWildcards(objects);
        ClusterRole operator = one(objects, ClusterRole.class, "zdt-zdt-operator");
        // blockOwnerDeletion on the children's ownerReferences needs update on the owner's finalizers (OpenShift).
        assertThat(operator.getRules()).anySatisfy(r -> {
            assertThat(r.getApiGroups()).containsExactly("zdt.dev");
            assertThat(r.getResources()).containsExactly("zerodowntimeapps/finalizers");
            assertThat(r.getVerbs()).containsExactly("update");
        });

        ClusterRole view = one(objects, ClusterRole.class, "zdt-zdt-operator-view");
        assertThat(view.getMetadata().getLabels()).containsEntry("rbac.authorization.k8s.io/aggregate-to-view", "true")
                .containsEntry("rbac.authorization.k8s.io/aggregate-to-edit", "true")
                .containsEntry("rbac.authorization.k8s.io/aggregate-to-admin", "true");
        assertThat(view.getRules()).allSatisfy(r -> assertThat(r.getVerbs()).containsOnly("get", "list", "watch"));
        ClusterRole edit = one(objects, ClusterRole.class, "zdt-zdt-operator-edit");
        assertThat(edit.getMetadata().getLabels()).containsEntry("rbac.authorization.k8s.io/aggregate-to-edit", "true")
                .containsEntry("rbac.authorization.k8s.io/aggregate-to-admin", "true")
                .doesNotContainKey("rbac.authorization.k8s.io/aggregate-to-view");
        assertThat(edit.getRules()).singleElement().satisfies(r -> {
            // The status stays the operator's.
            assertThat(r.getResources()).containsExactly("zerodowntimeapps", "drainpolicies");
            assertThat(r.getVerbs()).contains("create", "update", "patch", "delete");
        });

        assertThat(all(render("--set", "rbac.aggregateToBuiltInRoles=false"), ClusterRole.class))
                .extracting(r -> r.getMetadata().getName()).doesNotContain("zdt-zdt-operator-view", "zdt-zdt-operator-edit");
    }

    @Test
    void operatorPodRunsAsANonRootGroupWithABoundedTmpAndAnOptionalPriorityClass() throws Exception {
        var pod = operator(render()).getSpec().getTemplate().getSpec();
        assertThat(pod.getSecurityContext().getRunAsNonRoot()).isTrue();
        assertThat(pod.getSecurityContext().getRunAsUser()).isEqualTo(10001L);
        assertThat(pod.getSecurityContext().getRunAsGroup()).isEqualTo(10001L);
        assertThat(pod.getVolumes()).filteredOn(v -> v.getName().equals("tmp")).singleElement().satisfies(v ->
                assertThat(v.getEmptyDir().getSizeLimit()).hasToString("64Mi"));
        assertThat(pod.getPriorityClassName()).isNull();

        var critical = operator(render("--set", "priorityClassName=system-cluster-critical")).getSpec().getTemplate()
                .getSpec();
        assertThat(critical.getPriorityClassName()).isEqualTo("system-cluster-critical");
    }

    @Test
    void theGateTokenKeyIsARandomSecretMountedIntoTheOperatorOrTheUsersOwn() throws Exception {
        List<HasMetadata> objects = render();
        io.fabric8.kubernetes.api.model.Secret key = one(objects, io.fabric8.kubernetes.api.model.Secret.class,
                "zdt-zdt-operator-gate-key");
        byte[] current = java.util.Base64.getDecoder().decode(key.getData().get("current"));
        assertThat(current).hasSize(48);
        assertThat(new String(current)).isNotEqualTo(new String(java.util.Base64.getDecoder().decode(
                one(render(), io.fabric8.kubernetes.api.model.Secret.class, "zdt-zdt-operator-gate-key").getData()
                        .get("current")))).as("random per install");
        var pod = operator(objects).getSpec().getTemplate().getSpec();
        assertThat(pod.getVolumes()).filteredOn(v -> v.getName().equals("gate-key")).singleElement()
                .satisfies(v -> assertThat(v.getSecret().getSecretName()).isEqualTo("zdt-zdt-operator-gate-key"));
        assertThat(container(objects).getVolumeMounts()).filteredOn(m -> m.getName().equals("gate-key"))
                .singleElement().satisfies(m -> {
                    assertThat(m.getMountPath()).isEqualTo("/etc/zdt/gate-key");
                    assertThat(m.getReadOnly()).isTrue();
                });
        assertThat(env(container(objects), "ZDT_GATE_AUTH_KEY_DIR")).isEqualTo("/etc/zdt/gate-key");

        List<HasMetadata> own = render("--set", "gate.auth.existingSecret=my-key");
        assertThat(all(own, io.fabric8.kubernetes.api.model.Secret.class)).isEmpty();
        assertThat(operator(own).getSpec().getTemplate().getSpec().getVolumes())
                .filteredOn(v -> v.getName().equals("gate-key")).singleElement()
                .satisfies(v -> assertThat(v.getSecret().getSecretName()).isEqualTo("my-key"));
    }

    @Test
    void anImageDigestWinsOverTheTagForTheOperatorAndTheDrainHelper() throws Exception {
        String a = "sha256:" + "a".repeat(64);
        String b = "sha256:" + "b".repeat(64);
        Container tagged = container(render("--set", "image.tag=1.2.3"));
        assertThat(tagged.getImage()).isEqualTo("localhost/zdt-operator:1.2.3");
        assertThat(env(tagged, "ZDT_DRAIN_HELPER_IMAGE")).isEqualTo("localhost/zdt-drain:0.1.0");

        Container pinned = container(render("--set", "image.tag=1.2.3", "--set", "image.digest=" + a,
                "--set", "drainHelper.image.tag=1.2.3", "--set", "drainHelper.image.digest=" + b));
        assertThat(pinned.getImage()).isEqualTo("localhost/zdt-operator@" + a);
        assertThat(env(pinned, "ZDT_DRAIN_HELPER_IMAGE")).isEqualTo("localhost/zdt-drain@" + b);

        assertThatThrownBy(() -> render("--set", "image.digest=latest")).hasMessageContaining("is not sha256:");
    }

    @Test
    void pullSecretsReachTheOperatorPodsOnlyWhenSet() throws Exception {
        assertThat(operator(render()).getSpec().getTemplate().getSpec().getImagePullSecrets()).isEmpty();
        Deployment withSecret = operator(render("--set", "imagePullSecrets[0].name=my-registry"));
        assertThat(withSecret.getSpec().getTemplate().getSpec().getImagePullSecrets())
                .extracting(io.fabric8.kubernetes.api.model.LocalObjectReference::getName).containsExactly("my-registry");
    }

    @Test
    void theNetworkPolicyIsOffByDefaultAndOpensTheGateToAllButManagementOnlyToTheNamedPeers() throws Exception {
        assertThat(all(render(), NetworkPolicy.class)).isEmpty();

        NetworkPolicy policy = one(render("--set", "networkPolicy.enabled=true",
                "--set", "networkPolicy.apiServer.cidrs={10.0.0.5/32}",
                "--set-json", "networkPolicy.managementFrom=[{\"namespaceSelector\":{\"matchLabels\":"
                        + "{\"kubernetes.io/metadata.name\":\"monitoring\"}}}]",
                "--set-json", "networkPolicy.extraEgress=[{\"to\":[{\"ipBlock\":{\"cidr\":\"10.244.0.1/32\"}}],"
                        + "\"ports\":[{\"port\":8082}]}]"), NetworkPolicy.class, "zdt-zdt-operator");
        assertThat(policy.getSpec().getPolicyTypes()).containsExactlyInAnyOrder("Ingress", "Egress");
        assertThat(policy.getSpec().getPodSelector().getMatchLabels())
                .containsEntry("app.kubernetes.io/name", "zdt-operator").containsEntry("app.kubernetes.io/instance", "zdt");
        var ingress = policy.getSpec().getIngress();
        assertThat(ingress).hasSize(3);
        // The gate: no "from", so every pod and node.
        assertThat(ingress.get(0).getFrom()).isNullOrEmpty();
        assertThat(ingress.get(0).getPorts()).singleElement().satisfies(p -> assertThat(p.getPort().getStrVal()).isEqualTo("http"));
        // The webhook: the API server, whose address is no pod's.
        assertThat(ingress.get(1).getFrom()).isNullOrEmpty();
        assertThat(ingress.get(1).getPorts()).singleElement().satisfies(p -> assertThat(p.getPort().getStrVal()).isEqualTo("webhook"));
        assertThat(ingress.get(2).getPorts()).singleElement()
                .satisfies(p -> assertThat(p.getPort().getStrVal()).isEqualTo("management"));
        assertThat(ingress.get(2).getFrom()).singleElement().satisfies(peer -> assertThat(
                peer.getNamespaceSelector().getMatchLabels()).containsEntry("kubernetes.io/metadata.name", "monitoring"));

        var egress = policy.getSpec().getEgress();
        assertThat(egress).hasSize(3);
        assertThat(egress.get(0).getTo()).singleElement().satisfies(t -> assertThat(t.getIpBlock().getCidr()).isEqualTo("10.0.0.5/32"));
        assertThat(egress.get(0).getPorts()).extracting(p -> p.getPort().getIntVal()).containsExactly(443, 6443);
        assertThat(egress.get(1).getPorts()).extracting(p -> p.getPort().getIntVal() + "/" + p.getProtocol())
                .containsExactlyInAnyOrder("53/UDP", "53/TCP");
        assertThat(egress.get(1).getTo()).singleElement().satisfies(t -> {
            assertThat(t.getNamespaceSelector().getMatchLabels()).containsEntry("kubernetes.io/metadata.name", "kube-system");
            assertThat(t.getPodSelector().getMatchLabels()).containsEntry("k8s-app", "kube-dns");
        });
        assertThat(egress.get(2).getPorts()).singleElement().satisfies(p -> assertThat(p.getPort().getIntVal()).isEqualTo(8082));

        // Without a management peer nobody reaches health and metrics through the policy; the gate stays open.
        NetworkPolicy closed = one(render("--set", "networkPolicy.enabled=true"), NetworkPolicy.class, "zdt-zdt-operator");
        assertThat(closed.getSpec().getIngress()).extracting(r -> r.getPorts().get(0).getPort().getStrVal())
                .containsExactly("http", "webhook");
        // Without CIDRs, the API server rule names only the ports.
        assertThat(closed.getSpec().getEgress().get(0).getTo()).isNullOrEmpty();
        lints("--set", "networkPolicy.enabled=true");
    }

    @Test
    void theDefaultInstallIsClusterWideAndReadsOnlyItsOwnCrd() throws Exception {
        List<HasMetadata> objects = render();
        assertThat(env(container(objects), "ZDT_WATCH_NAMESPACES")).isNull();
        ClusterRole operator = one(objects, ClusterRole.class, "zdt-zdt-operator");
        assertThat(operator.getRules()).filteredOn(r -> r.getResources().contains("customresourcedefinitions"))
                .singleElement().satisfies(r -> {
                    assertThat(r.getVerbs()).containsExactly("get");
                    assertThat(r.getResourceNames()).containsExactly("zerodowntimeapps.zdt.dev", "drainpolicies.zdt.dev");
                });
        assertThat(one(objects, ClusterRoleBinding.class, "zdt-zdt-operator").getSubjects()).singleElement()
                .satisfies(ChartIT::isTheOperator);
        assertThat(all(objects, Role.class)).extracting(r -> r.getMetadata().getNamespace()).containsOnly("zdt-system");
    }

    @Test
    void theIngressAllowListsReachTheOperatorAndANamespacedInstallMayReadTheControllersNamespace() throws Exception {
        assertThat(env(container(render()), "ZDT_INGRESS_ALLOWED_API_URLS")).as("no URL allowed by default").isNull();
        List<HasMetadata> objects = render("--set", "watchNamespaces={team-a}",
                "--set", "ingress.allowedApiUrls={http://10.0.0.1:9000}",
                "--set", "ingress.controllerNamespaces={team-a,zdt-ingress}");
        noWildcards(objects);
        assertThat(env(container(objects), "ZDT_INGRESS_ALLOWED_API_URLS")).isEqualTo("http://10.0.0.1:9000");
        assertThat(env(container(objects), "ZDT_INGRESS_CONTROLLER_NAMESPACES")).isEqualTo("team-a,zdt-ingress");
        // team-a is watched (its Role already reads Services and EndpointSlices); zdt-ingress gets read-only rules.
        Role reader = one(objects, Role.class, "zdt-zdt-operator-ingress-controller");
        assertThat(reader.getMetadata().getNamespace()).isEqualTo("zdt-ingress");
        assertThat(reader.getRules()).allSatisfy(r -> assertThat(r.getVerbs()).isSubsetOf("get", "list"));
        assertThat(all(objects, Role.class)).filteredOn(r -> r.getMetadata().getName().endsWith("-ingress-controller"))
                .hasSize(1);
        lints("--set", "watchNamespaces={team-a}", "--set", "ingress.controllerNamespaces={zdt-ingress}");
    }

    @Test
        void aNamespacedInstallGrantsRolesInTheWatchedNamespacesAndNoClusterRoleButTheCrdGetTheWebhooksCaBundleAndTokenReviews() throws Exception {
        List<HasMetadata> cluster = render();
        List<HasMetadata> objects = render("--set", "watchNamespaces={team-a,team-b}");
        noWildcards(objects);
        assertThat(env(container(objects), "ZDT_WATCH_NAMESPACES")).isEqualTo("team-a,team-b");
        assertThat(container(objects).getEnv()).extracting(EnvVar::getName)
                .doesNotContain("QUARKUS_OPERATOR_SDK_CONTROLLERS_ZERODOWNTIMEAPP_NAMESPACES", "QUARKUS_OPERATOR_SDK_CRD_VALIDATE");

        // Bound to the operator, cluster-wide: get on its own CRDs, the caBundle of its own webhook
        // configuration, and TokenReviews (the gate learns which pod calls; nothing is stored or named).
        List<ClusterRoleBinding> clusterBindings = all(objects, ClusterRoleBinding.class);
        assertThat(clusterBindings).extracting(b -> b.getRoleRef().getName())
                .containsExactlyInAnyOrder("zdt-zdt-operator-crd", "zdt-zdt-operator-webhook", "zdt-zdt-operator-tokenreview",
                        "zdt-zdt-operator-metrics-auth");
        assertThat(one(objects, ClusterRole.class, "zdt-zdt-operator-tokenreview").getRules()).singleElement().satisfies(r -> {
            assertThat(r.getApiGroups()).containsExactly("authentication.k8s.io");
            assertThat(r.getResources()).containsExactly("tokenreviews");
            assertThat(r.getVerbs()).containsExactly("create");
        });
        assertThat(all(cluster, ClusterRoleBinding.class)).extracting(b -> b.getRoleRef().getName())
                .contains("zdt-zdt-operator-tokenreview");
        assertThat(clusterBindings).allSatisfy(b -> assertThat(b.getSubjects()).singleElement().satisfies(ChartIT::isTheOperator));
        assertThat(one(objects, ClusterRole.class, "zdt-zdt-operator-crd").getRules()).singleElement().satisfies(r -> {
            assertThat(r.getApiGroups()).containsExactly("apiextensions.k8s.io");
            assertThat(r.getResources()).containsExactly("customresourcedefinitions");
            assertThat(r.getResourceNames()).containsExactly("zerodowntimeapps.zdt.dev", "drainpolicies.zdt.dev");
            assertThat(r.getVerbs()).containsExactly("get");
        });
        assertThat(one(objects, ClusterRole.class, "zdt-zdt-operator-webhook").getRules()).singleElement().satisfies(r -> {
            assertThat(r.getResources()).containsExactly("mutatingwebhookconfigurations");
            assertThat(r.getResourceNames()).containsExactly("zdt-zdt-operator");
        });
        // The webhook reaches only the watched namespaces.
        assertThat(one(objects, MutatingWebhookConfiguration.class, "zdt-zdt-operator").getWebhooks().get(0)
                .getNamespaceSelector().getMatchExpressions()).anySatisfy(e -> {
                    assertThat(e.getOperator()).isEqualTo("In");
                    assertThat(e.getValues()).containsExactly("team-a", "team-b");
                });

        // In each watched namespace, the cluster-wide install's rules for apps, through a Role.
        List<PolicyRule> clusterRules = one(cluster, ClusterRole.class, "zdt-zdt-operator").getRules().stream()
                .filter(r -> !r.getResources().contains("customresourcedefinitions") && !r.getResources().contains("namespaces"))
                .toList();
        // Namespaces are cluster-scoped: only the cluster-wide install reads them (a get, for a DrainPolicy's status).
        assertThat(one(cluster, ClusterRole.class, "zdt-zdt-operator").getRules())
                .filteredOn(r -> r.getResources().contains("namespaces")).singleElement()
                .satisfies(r -> assertThat(r.getVerbs()).containsExactly("get"));
        for (String ns : List.of("team-a", "team-b")) {
            Role role = all(objects, Role.class).stream().filter(r -> ns.equals(r.getMetadata().getNamespace()))
                    .findFirst().orElseThrow(() -> new AssertionError("no Role in " + ns));
            assertThat(role.getMetadata().getName()).isEqualTo("zdt-zdt-operator-apps");
            assertThat(role.getRules()).containsExactlyElementsOf(clusterRules);
            RoleBinding binding = all(objects, RoleBinding.class).stream()
                    .filter(b -> ns.equals(b.getMetadata().getNamespace())).findFirst().orElseThrow();
            assertThat(binding.getRoleRef().getKind()).isEqualTo("Role");
            assertThat(binding.getRoleRef().getName()).isEqualTo("zdt-zdt-operator-apps");
            assertThat(binding.getSubjects()).singleElement().satisfies(ChartIT::isTheOperator);
        }

        // The release namespace: the Lease, the gate Service's address, and its EndpointSlices (warm-in).
        Role release = all(objects, Role.class).stream().filter(r -> "zdt-system".equals(r.getMetadata().getNamespace()))
                .findFirst().orElseThrow();
        assertThat(release.getRules()).anySatisfy(r -> assertThat(r.getResources()).containsExactly("leases"));
        assertThat(release.getRules()).anySatisfy(r -> {
            assertThat(r.getResources()).containsExactly("services");
            assertThat(r.getResourceNames()).containsExactly("zdt-zdt-operator-gate");
            assertThat(r.getVerbs()).containsExactly("get");
        });
        assertThat(release.getRules()).anySatisfy(r -> {
            assertThat(r.getResources()).containsExactly("endpointslices");
            assertThat(r.getVerbs()).containsExactlyInAnyOrder("list", "watch");
        });
        lints("--set", "watchNamespaces={team-a,team-b}");

        // Without the CRD check and the webhook, a namespaced operator's only cluster-wide permissions are
        // to have pods' and scrapers' tokens reviewed, and to ask whether a scraper may read the metrics...
        List<HasMetadata> noCheck = render("--set", "watchNamespaces={team-a}", "--set", "checkCrdAtStartup=false",
                "--set", "webhook.enabled=false");
        assertThat(all(noCheck, ClusterRoleBinding.class)).extracting(b -> b.getRoleRef().getName())
                .containsExactlyInAnyOrder("zdt-zdt-operator-tokenreview", "zdt-zdt-operator-metrics-auth");
        // ...and without metrics auth, only the first.
        assertThat(all(render("--set", "watchNamespaces={team-a}", "--set", "checkCrdAtStartup=false",
                "--set", "webhook.enabled=false", "--set", "metrics.auth.enabled=false"), ClusterRoleBinding.class))
                .extracting(b -> b.getRoleRef().getName()).containsExactly("zdt-zdt-operator-tokenreview");
        assertThat(env(container(noCheck), "QUARKUS_OPERATOR_SDK_CRD_VALIDATE")).isEqualTo("false");
    }

    private static void isTheOperator(io.fabric8.kubernetes.api.model.rbac.Subject s) {
        assertThat(s.getKind()).isEqualTo("ServiceAccount");
        assertThat(s.getName()).isEqualTo("zdt-zdt-operator");
        assertThat(s.getNamespace()).isEqualTo("zdt-system");
    }

    @Test
    void theAdmissionPolicyIsOnByDefaultMatchesTheAppsNotTheirStatusAndFollowsANamespacedInstall() throws Exception {
        List<HasMetadata> objects = render();
        String name = "zdt-zdt-operator-requester-may-create-children";
        ValidatingAdmissionPolicy policy = one(objects, ValidatingAdmissionPolicy.class, name);
        assertThat(policy.getSpec().getFailurePolicy()).isEqualTo("Fail");
        assertThat(policy.getSpec().getMatchConstraints().getResourceRules()).singleElement().satisfies(r -> {
            assertThat(r.getApiGroups()).containsExactly("zdt.dev");
            assertThat(r.getResources()).containsExactly("zerodowntimeapps"); // not zerodowntimeapps/status
            assertThat(r.getOperations()).containsExactlyInAnyOrder("CREATE", "UPDATE");
        });
        // One authorizer check per validation, for each kind the operator creates for an app.
        assertThat(policy.getSpec().getVariables()).extracting(v -> v.getExpression())
                .anySatisfy(e -> assertThat(e).contains("group('apps').resource('deployments')").contains("check('create')"))
                .anySatisfy(e -> assertThat(e).contains("group('').resource('services')"))
                .anySatisfy(e -> assertThat(e).contains("group('policy').resource('poddisruptionbudgets')"))
                .anySatisfy(e -> assertThat(e).contains("has(object.spec.ingress)")
                        .contains("group('networking.k8s.io').resource('ingresses')"))
                .anySatisfy(e -> assertThat(e).contains("has(object.spec.route)")
                        .contains("group('gateway.networking.k8s.io').resource('httproutes')"));
        assertThat(policy.getSpec().getValidations()).hasSize(5).allSatisfy(v -> {
            assertThat(v.getReason()).isEqualTo("Forbidden");
            assertThat(v.getMessageExpression()).contains("request.userInfo.username").doesNotContain("authorizer");
        });
        ValidatingAdmissionPolicyBinding binding = one(objects, ValidatingAdmissionPolicyBinding.class, name);
        assertThat(binding.getSpec().getPolicyName()).isEqualTo(name);
        assertThat(binding.getSpec().getValidationActions()).containsExactly("Deny");
        assertThat(binding.getSpec().getMatchResources()).isNull();

        ValidatingAdmissionPolicyBinding namespaced = one(render("--set", "watchNamespaces={team-a,team-b}"),
                ValidatingAdmissionPolicyBinding.class, name);
        assertThat(namespaced.getSpec().getMatchResources().getNamespaceSelector().getMatchExpressions()).singleElement()
                .satisfies(e -> {
                    assertThat(e.getKey()).isEqualTo("kubernetes.io/metadata.name");
                    assertThat(e.getOperator()).isEqualTo("In");
                    assertThat(e.getValues()).containsExactly("team-a", "team-b");
                });

        // DrainPolicies: their creator must be allowed to create pods in the namespace.
        String pods = "zdt-zdt-operator-drainpolicy-creator-may-create-pods";
        ValidatingAdmissionPolicy podsPolicy = one(objects, ValidatingAdmissionPolicy.class, pods);
        assertThat(podsPolicy.getSpec().getFailurePolicy()).isEqualTo("Fail");
        assertThat(podsPolicy.getSpec().getMatchConstraints().getResourceRules()).singleElement().satisfies(r -> {
            assertThat(r.getResources()).containsExactly("drainpolicies"); // not drainpolicies/status
            assertThat(r.getOperations()).containsExactlyInAnyOrder("CREATE", "UPDATE");
        });
        assertThat(podsPolicy.getSpec().getVariables()).singleElement().satisfies(v -> assertThat(v.getExpression())
                .contains("group('').resource('pods')").contains("check('create')"));
        assertThat(one(objects, ValidatingAdmissionPolicyBinding.class, pods).getSpec().getMatchResources()).isNull();
        assertThat(one(render("--set", "watchNamespaces={team-a}"), ValidatingAdmissionPolicyBinding.class, pods)
                .getSpec().getMatchResources().getNamespaceSelector().getMatchExpressions()).singleElement()
                .satisfies(e -> assertThat(e.getValues()).containsExactly("team-a"));

        List<HasMetadata> off = render("--set", "admissionPolicy.enabled=false");
        assertThat(all(off, ValidatingAdmissionPolicy.class)).isEmpty();
        assertThat(all(off, ValidatingAdmissionPolicyBinding.class)).isEmpty();
    }

    @Test
    void theWebhookIsInstalledWithIgnoreAShortTimeoutOnlyForOptedInNamespacesAndItsOwnService() throws Exception {
        List<HasMetadata> objects = render();
        MutatingWebhookConfiguration mwc = one(objects, MutatingWebhookConfiguration.class, "zdt-zdt-operator");
        assertThat(mwc.getWebhooks()).singleElement().satisfies(w -> {
            assertThat(w.getFailurePolicy()).isEqualTo("Ignore");
            assertThat(w.getTimeoutSeconds()).isEqualTo(5);
            assertThat(w.getSideEffects()).isEqualTo("None");
            assertThat(w.getRules()).singleElement().satisfies(r -> {
                assertThat(r.getOperations()).containsExactly("CREATE");
                assertThat(r.getResources()).containsExactly("pods");
            });
            assertThat(w.getNamespaceSelector().getMatchLabels()).containsEntry("zdt.dev/drain-policy", "enabled");
            assertThat(w.getNamespaceSelector().getMatchExpressions()).singleElement().satisfies(e -> {
                assertThat(e.getKey()).isEqualTo("kubernetes.io/metadata.name");
                assertThat(e.getOperator()).isEqualTo("NotIn");
                assertThat(e.getValues()).containsExactly("zdt-system");
            });
            assertThat(w.getObjectSelector().getMatchExpressions()).singleElement()
                    .satisfies(e -> assertThat(e.getOperator()).isEqualTo("DoesNotExist"));
            assertThat(w.getClientConfig().getService().getName()).isEqualTo("zdt-zdt-operator-webhook");
            assertThat(w.getClientConfig().getService().getPath()).isEqualTo("/mutate/v1/pods");
            assertThat(w.getClientConfig().getCaBundle()).as("written by the operator").isNull();
        });
        Service service = one(objects, Service.class, "zdt-zdt-operator-webhook");
        assertThat(service.getSpec().getPorts()).singleElement()
                .satisfies(p -> assertThat(p.getTargetPort().getStrVal()).isEqualTo("webhook"));
        assertThat(container(objects).getPorts()).anySatisfy(p -> {
            assertThat(p.getName()).isEqualTo("webhook");
            assertThat(p.getContainerPort()).isEqualTo(8443);
        });
        assertThat(env(container(objects), "ZDT_WEBHOOK_SECRET_NAME")).isEqualTo("zdt-zdt-operator-webhook-tls");
        assertThat(env(container(objects), "ZDT_WEBHOOK_CONFIGURATION_NAME")).isEqualTo("zdt-zdt-operator");

        assertThat(one(render("--set", "webhook.failurePolicy=Fail"), MutatingWebhookConfiguration.class, "zdt-zdt-operator")
                .getWebhooks().get(0).getFailurePolicy()).isEqualTo("Fail");

        List<HasMetadata> off = render("--set", "webhook.enabled=false");
        assertThat(all(off, MutatingWebhookConfiguration.class)).isEmpty();
        assertThat(off).noneMatch(o -> "zdt-zdt-operator-webhook".equals(o.getMetadata().getName()));
        assertThat(env(container(off), "ZDT_WEBHOOK_ENABLED")).isEqualTo("false");

        List<HasMetadata> certManager = render("--set", "webhook.certificate.selfManaged=false",
                "--set", "webhook.certManager.enabled=true");
        assertThat(one(certManager, MutatingWebhookConfiguration.class, "zdt-zdt-operator").getMetadata().getAnnotations())
                .containsEntry("cert-manager.io/inject-ca-from", "zdt-system/zdt-zdt-operator-webhook");
        assertThat(certManager).anyMatch(o -> "Certificate".equals(o.getKind()));
        assertThat(all(certManager, ClusterRole.class)).noneMatch(r -> r.getMetadata().getName().endsWith("-webhook"));
        lints("--set", "webhook.failurePolicy=Fail");
    }

    private static void lints(String... flags) throws Exception {
        List<String> args = new java.util.ArrayList<>(List.of("lint", "--strict", Chart.DIR.toString()));
        args.addAll(List.of(flags));
        assertThat(Chart.helm(args.toArray(String[]::new))).contains("0 chart(s) failed");
    }

    private static String env(Container c, String name) {
        return c.getEnv().stream().filter(e -> name.equals(e.getName())).map(EnvVar::getValue).findFirst().orElse(null);
    }

    /** Least privilege: no wildcard in any Role or ClusterRole the chart renders. */
    private static void noWildcards(List<HasMetadata> objects) {
        List<PolicyRule> rules = new java.util.ArrayList<>();
        all(objects, ClusterRole.class).forEach(r -> rules.addAll(r.getRules()));
        all(objects, Role.class).forEach(r -> rules.addAll(r.getRules()));
        assertThat(rules).isNotEmpty().allSatisfy(rule -> {
            assertThat(rule.getVerbs()).doesNotContain("*");
            assertThat(rule.getResources()).doesNotContain("*");
            assertThat(rule.getApiGroups()).doesNotContain("*");
        });
    }
}
