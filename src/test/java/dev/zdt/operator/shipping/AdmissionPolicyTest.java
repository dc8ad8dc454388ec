package dev.zdt.operator.shipping;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import dev.zdt.operator.api.v1alpha1.DrainPolicy;
import dev.zdt.operator.api.v1alpha1.ZeroDowntimeApp;
import dev.zdt.operator.testing.Apps;
import dev.zdt.operator.testing.Chart;
import dev.zdt.operator.testing.KubeApiServerResource;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.NamespaceBuilder;
import io.fabric8.kubernetes.api.model.admissionregistration.v1.ValidatingAdmissionPolicy;
import io.fabric8.kubernetes.api.model.admissionregistration.v1.ValidatingAdmissionPolicyBinding;
import io.fabric8.kubernetes.api.model.rbac.PolicyRuleBuilder;
import io.fabric8.kubernetes.api.model.rbac.RoleBindingBuilder;
import io.fabric8.kubernetes.api.model.rbac.RoleBuilder;
import io.fabric8.kubernetes.client.Config;
import io.fabric8.kubernetes.client.ConfigBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import io.fabric8.kubernetes.client.KubernetesClientException;

/**
 * The chart's admission policy on a real kube-apiserver (RBAC authorizer, ValidatingAdmissionPolicy
 * admission on by default since 1.30), applied as `helm template` renders it, with impersonated
 * users: a ZeroDowntimeApp is refused unless its requester may create its children.
 */
class AdmissionPolicyTest {

    private static final String NS = "tenant";
    private static final KubeApiServerResource SERVER = new KubeApiServerResource();
    private static String previousKubeconfig;
    private static Config adminConfig;
    private static KubernetesClient admin;

    @BeforeAll
    static void apiServerWithThePolicy() throws Exception {
        previousKubeconfig = System.getProperty("kubeconfig");
        String kubeconfig = SERVER.start().get("zdt.test.kubeconfig");
        adminConfig = Config.fromKubeconfig(Files.readString(Path.of(kubeconfig)));
        admin = new KubernetesClientBuilder().withConfig(adminConfig).build();
        admin.resource(new NamespaceBuilder().withNewMetadata().withName(NS).endMetadata().build()).create();
        List<HasMetadata> rendered = Chart.render();
        for (HasMetadata o : rendered) {
            if (o instanceof ValidatingAdmissionPolicy || o instanceof ValidatingAdmissionPolicyBinding) {
                admin.resource(o).create();
            }
        }
        // alice may manage ZeroDowntimeApps only; dave may also create Deployments and Services; bob
        // may also create what the operator creates for an app without an Ingress; carol may create
        // all of it, Ingresses too.
        role("apps", "zdt.dev", "zerodowntimeapps", "get", "list", "create", "update", "patch", "delete");
        role("children", null, null, "create");
        role("deployments", "apps", "deployments", "create");
        role("services", "", "services", "create");
        role("ingresses", "networking.k8s.io", "ingresses", "create");
        role("httproutes", "gateway.networking.k8s.io", "httproutes", "create");
        role("status", "zdt.dev", "zerodowntimeapps/status", "get", "update", "patch");
        bind("apps", "alice", "bob", "carol", "dave");
        bind("status", "alice");
        bind("children", "bob", "carol");
        bind("deployments", "dave");
        bind("services", "dave");
        bind("ingresses", "carol");
        bind("httproutes", "carol");
        // erin may manage DrainPolicies only; frank may also create pods.
        role("drainpolicies", "zdt.dev", "drainpolicies", "get", "list", "create", "update", "patch", "delete");
        role("pods", "", "pods", "create");
        bind("drainpolicies", "erin", "frank");
        bind("pods", "frank");
    }

    @AfterAll
    static void stop() {
        if (admin != null) {
            admin.close();
        }
        SERVER.stop();
        if (previousKubeconfig == null) {
            System.clearProperty("kubeconfig");
        } else {
            System.setProperty("kubeconfig", previousKubeconfig);
        }
    }

    private static void role(String name, String group, String resource, String... verbs) {
        var rules = group != null ? List.of(new PolicyRuleBuilder().withApiGroups(group).withResources(resource)
                .withVerbs(verbs).build())
                : List.of(new PolicyRuleBuilder().withApiGroups("apps").withResources("deployments").withVerbs(verbs).build(),
                        new PolicyRuleBuilder().withApiGroups("").withResources("services").withVerbs(verbs).build(),
                        new PolicyRuleBuilder().withApiGroups("policy").withResources("poddisruptionbudgets")
                                .withVerbs(verbs).build());
        admin.resource(new RoleBuilder().withNewMetadata().withName(name).withNamespace(NS).endMetadata()
                .withRules(rules).build()).create();
    }

    private static void bind(String role, String... users) {
        var binding = new RoleBindingBuilder().withNewMetadata().withName(role).withNamespace(NS).endMetadata()
                .withNewRoleRef().withApiGroup("rbac.authorization.k8s.io").withKind("Role").withName(role).endRoleRef();
        for (String user : users) {
            binding.addNewSubject().withApiGroup("rbac.authorization.k8s.io").withKind("User").withName(user).endSubject();
        }
        admin.resource(binding.build()).create();
    }

    /** A client that acts as the user, through impersonation by the admin. */
    private static KubernetesClient as(String user) {
        return new KubernetesClientBuilder().withConfig(new ConfigBuilder(adminConfig).withImpersonateUsername(user).build())
                .build();
    }

    private static ZeroDowntimeApp app(String name, String extraSpec) {
        ZeroDowntimeApp app = Apps.parse(Apps.yaml(name, extraSpec));
        app.getMetadata().setNamespace(NS);
        return app;
    }

    /** A policy becomes active a moment after it is created: until the user is refused once. */
    private static KubernetesClientException refused(KubernetesClient client, HasMetadata app) {
        return await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(250)).until(() -> {
            try {
                client.resource(app).create();
                admin.resource(app).delete(); // not active yet: undo and try again
                await().atMost(Duration.ofSeconds(10)).until(() -> admin.resource(app).get() == null);
                return null;
            } catch (KubernetesClientException e) {
                return e;
            }
        }, e -> e != null);
    }

    @Test
    void aUserWhoMayCreateOnlyZeroDowntimeAppsIsRefusedWithWhatIsMissing() {
        try (KubernetesClient alice = as("alice")) {
            KubernetesClientException e = refused(alice, app("alices", ""));
            assertThat(e.getCode()).isEqualTo(403);
            assertThat(e.getMessage()).contains("zdt-zdt-operator-requester-may-create-children")
                    .contains("alice may not create deployments.apps in namespace " + NS
                            + ", which the operator would create for ZeroDowntimeApp alices")
                    .doesNotContain("ingresses");
            assertThat(admin.resources(ZeroDowntimeApp.class).inNamespace(NS).withName("alices").get()).isNull();
        }
    }

    @Test
    void theMessageNamesTheFirstKindTheUserMayNotCreate() {
        try (KubernetesClient alice = as("alice"); KubernetesClient dave = as("dave")) {
            refused(alice, app("probe-first", "")); // the policy is active from here on
            assertThatThrownBy(() -> dave.resource(app("daves", "")).create()).isInstanceOfSatisfying(
                    KubernetesClientException.class, e -> assertThat(e.getMessage())
                            .contains("dave may not create poddisruptionbudgets.policy in namespace " + NS)
                            .doesNotContain("deployments.apps").doesNotContain("may not create services"));
        }
    }

    @Test
    void anAppWithARouteNeedsTheRightToCreateHTTPRoutes() {
        try (KubernetesClient alice = as("alice"); KubernetesClient bob = as("bob"); KubernetesClient carol = as("carol")) {
            refused(alice, app("probe-route", "")); // the policy is active from here on
            String route = "route:\n  parentRefs: [{name: edge}]";
            assertThatThrownBy(() -> bob.resource(app("bobs-routed", route)).create()).isInstanceOfSatisfying(
                    KubernetesClientException.class, e -> {
                        assertThat(e.getCode()).isEqualTo(403);
                        assertThat(e.getMessage()).contains("bob may not create httproutes.gateway.networking.k8s.io "
                                + "(spec.route is set) in namespace " + NS);
                    });
            assertThat(carol.resource(app("carols-routed", route)).create().getMetadata().getUid()).isNotBlank();
        }
    }

    @Test
    void aUserWhoMayCreateTheChildrenCreatesTheAppAndNeedsIngressesOnlyForAnAppWithAnIngress() {
        try (KubernetesClient alice = as("alice"); KubernetesClient bob = as("bob"); KubernetesClient carol = as("carol")) {
            refused(alice, app("probe", "")); // the policy is active from here on

            ZeroDowntimeApp plain = bob.resource(app("bobs", "")).create();
            assertThat(plain.getMetadata().getUid()).isNotBlank();

            ZeroDowntimeApp withIngress = app("bobs-public", "ingress:\n  host: shop.example.com");
            assertThatThrownBy(() -> bob.resource(withIngress).create()).isInstanceOfSatisfying(
                    KubernetesClientException.class, e -> {
                        assertThat(e.getCode()).isEqualTo(403);
                        assertThat(e.getMessage()).contains("bob may not create ingresses.networking.k8s.io (spec.ingress is set) in namespace "
                                + NS);
                    });
            assertThat(carol.resource(app("carols-public", "ingress:\n  host: shop.example.com")).create()
                    .getMetadata().getUid()).isNotBlank();

            // An update is checked too: alice may update ZeroDowntimeApps, but not bob's into what she could not create.
            assertThatThrownBy(() -> alice.resources(ZeroDowntimeApp.class).inNamespace(NS).withName("bobs")
                    .edit(a -> {
                        a.getSpec().setReplicas(3);
                        return a;
                    })).isInstanceOfSatisfying(KubernetesClientException.class, e -> assertThat(e.getMessage())
                            .contains("alice may not create deployments.apps"));
            assertThat(bob.resources(ZeroDowntimeApp.class).inNamespace(NS).withName("bobs").edit(a -> {
                a.getSpec().setReplicas(3);
                return a;
            }).getSpec().getReplicas()).isEqualTo(3);

            // The status is the operator's to write, and not matched: whoever may write it is not asked for more.
            ZeroDowntimeApp withStatus = admin.resources(ZeroDowntimeApp.class).inNamespace(NS).withName("bobs").get();
            withStatus.getStatus().setObservedGeneration(withStatus.getMetadata().getGeneration());
            assertThat(alice.resource(withStatus).updateStatus().getStatus().getObservedGeneration())
                    .isEqualTo(withStatus.getMetadata().getGeneration());
        }
    }

    @Test
    void aDrainPolicyNeedsTheRightToCreatePodsInItsNamespaceOnCreateAndUpdate() {
        String tail = "traffic: {provider: generic, propagationSeconds: 5}\ndrain: {maxRequestSeconds: 5, shutdownSeconds: 2}\n";
        try (KubernetesClient erin = as("erin"); KubernetesClient frank = as("frank")) {
            DrainPolicy erins = Apps.webPolicy(NS, tail);
            erins.getMetadata().setName("erins");
            KubernetesClientException e = refused(erin, erins);
            assertThat(e.getCode()).isEqualTo(403);
            assertThat(e.getMessage()).contains("zdt-zdt-operator-drainpolicy-creator-may-create-pods")
                    .contains("erin may not create pods in namespace " + NS
                            + ", whose pods DrainPolicy erins would change (grace period, readiness gate, preStop hook)");
            assertThat(admin.resources(DrainPolicy.class).inNamespace(NS).withName("erins").get()).isNull();

            DrainPolicy franks = Apps.webPolicy(NS, tail);
            franks.getMetadata().setName("franks");
            assertThat(frank.resource(franks).create().getMetadata().getUid()).isNotBlank();
            // erin may update DrainPolicies, but not frank's, since the change reaches pods she may not create.
            assertThatThrownBy(() -> erin.resources(DrainPolicy.class).inNamespace(NS).withName("franks").edit(p -> {
                p.getSpec().getDrain().setShutdownSeconds(3);
                return p;
            })).isInstanceOfSatisfying(KubernetesClientException.class,
                    x -> assertThat(x.getMessage()).contains("erin may not create pods in namespace " + NS));
            assertThat(frank.resources(DrainPolicy.class).inNamespace(NS).withName("franks").edit(p -> {
                p.getSpec().getDrain().setShutdownSeconds(3);
                return p;
            }).getSpec().getDrain().getShutdownSeconds()).isEqualTo(3);
        }
    }
}
