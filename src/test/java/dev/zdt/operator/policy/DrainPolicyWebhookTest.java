package dev.zdt.operator.policy;

import dev.zdt.operator.watch.Policies;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManager;
import javax.net.ssl.X509TrustManager;

import jakarta.inject.Inject;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import dev.zdt.operator.Constants;
import dev.zdt.operator.api.v1alpha1.DrainPolicy;
import dev.zdt.operator.pod.DrainHelper;
import dev.zdt.operator.testing.Apps;
import dev.zdt.operator.testing.KubeApiServerResource;
import io.fabric8.kubernetes.api.model.Condition;
import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.NamespaceBuilder;
import io.fabric8.kubernetes.api.model.OwnerReferenceBuilder;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodBuilder;
import io.fabric8.kubernetes.api.model.PodTemplateSpec;
import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.api.model.admissionregistration.v1.MutatingWebhookConfiguration;
import io.fabric8.kubernetes.api.model.admissionregistration.v1.MutatingWebhookConfigurationBuilder;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.api.model.apps.ReplicaSet;
import io.fabric8.kubernetes.api.model.apps.ReplicaSetBuilder;
import io.fabric8.kubernetes.api.model.apps.StatefulSet;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.utils.Serialization;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.junit.QuarkusTest;

/**
 * The DrainPolicy webhook called by a real kube-apiserver over HTTPS, with the caBundle the operator
 * wrote. No controller-manager runs here, so the pods a Deployment's ReplicaSet or a StatefulSet
 * would create are created by the test as those controllers do: from the owner's template, with the
 * owner as controller reference. The Deployment and StatefulSet themselves are applied plainly,
 * without a zdt word in them.
 */
@QuarkusTest
@QuarkusTestResource(value = KubeApiServerResource.class, restrictToAnnotatedClass = false)
class DrainPolicyWebhookTest {

    private static final Duration WAIT = Duration.ofSeconds(30);
    private static final String CONFIGURATION = "zdt-operator";

    @Inject
    KubernetesClient client;

    @Inject
    PodWebhook webhook;

    @Inject
    Policies policies;

    private String ns;
    private int port;

    @BeforeEach
    void namespaceWebhookAndPolicy() throws Exception {
        ns = "p-" + Long.toString(System.nanoTime(), 36);
        client.resource(new NamespaceBuilder().withNewMetadata().withName(ns)
                .withLabels(Map.of(Constants.DRAIN_POLICY_LABEL, Constants.DRAIN_POLICY_ENABLED)).endMetadata().build())
                .create();
        Apps.ensureGateService(client);
        port = webhook.listening().get(30, TimeUnit.SECONDS);
        configuration("https://127.0.0.1:" + port + PodWebhook.PATH);
        client.resource(Apps.webPolicy(ns, """
                traffic:
                  provider: traefik
                  throttleSeconds: 8
                drain:
                  maxRequestSeconds: 20
                """)).create();
        await().atMost(WAIT).until(() -> policies.get(ns, "web") != null);
    }

    @AfterEach
    void cleanUp() {
        client.namespaces().withName(ns).delete();
    }

    /** The configuration the chart installs, pointed at this test's webhook; the operator writes its caBundle. */
    private void configuration(String url) {
        MutatingWebhookConfiguration mwc = new MutatingWebhookConfigurationBuilder()
                .withNewMetadata().withName(CONFIGURATION).endMetadata()
                .addNewWebhook()
                    .withName("pods.drainpolicy.zdt.dev")
                    .withAdmissionReviewVersions("v1")
                    .withSideEffects("None")
                    .withFailurePolicy("Ignore")
                    .withTimeoutSeconds(5)
                    .withNewClientConfig().withUrl(url).endClientConfig()
                    .addNewRule().withOperations("CREATE").withApiGroups("").withApiVersions("v1")
                        .withResources("pods").endRule()
                    .withNewNamespaceSelector().addToMatchLabels(Constants.DRAIN_POLICY_LABEL, Constants.DRAIN_POLICY_ENABLED)
                        .endNamespaceSelector()
                .endWebhook()
                .build();
        MutatingWebhookConfiguration existing = client.admissionRegistration().v1().mutatingWebhookConfigurations()
                .withName(CONFIGURATION).get();
        if (existing != null) {
            mwc.getWebhooks().get(0).getClientConfig().setCaBundle(existing.getWebhooks().get(0).getClientConfig().getCaBundle());
            client.admissionRegistration().v1().mutatingWebhookConfigurations().withName(CONFIGURATION)
                    .edit(m -> {
                        m.setWebhooks(mwc.getWebhooks());
                        return m;
                    });
        } else {
            client.resource(mwc).create();
        }
        webhook.check();
        await().atMost(WAIT).until(() -> client.admissionRegistration().v1().mutatingWebhookConfigurations()
                .withName(CONFIGURATION).get().getWebhooks().get(0).getClientConfig().getCaBundle() != null);
    }

    private static final String DEPLOYMENT = """
            apiVersion: apps/v1
            kind: Deployment
            metadata:
              name: web
            spec:
              replicas: 2
              selector:
                matchLabels:
                  app: web
              template:
                metadata:
                  labels:
                    app: web
                    app.kubernetes.io/managed-by: Helm
                spec:
            %s""".formatted(Apps.podSpec(Apps.WEB_CONTAINER + """
            - name: sidecar
              image: localhost/demo-app:latest
            """));

    private static final String STATEFUL_SET = """
            apiVersion: apps/v1
            kind: StatefulSet
            metadata:
              name: db
            spec:
              serviceName: db
              replicas: 1
              selector:
                matchLabels:
                  app: web
              template:
                metadata:
                  labels:
                    app: web
                spec:
                  terminationGracePeriodSeconds: 600
                  containers:
                  - name: db
                    image: localhost/demo-app:latest
                    lifecycle:
                      preStop:
                        exec:
                          command: ["/bin/flush", "--all"]
            """;

    /** A pod as the owner's controller creates it: the owner's template, the owner as controller. */
    private Pod podOf(HasMetadata owner, PodTemplateSpec template, String name) {
        Pod pod = new PodBuilder().withMetadata(template.getMetadata()).withSpec(template.getSpec()).build();
        pod.getMetadata().setName(name);
        pod.getMetadata().setNamespace(ns);
        pod.getMetadata().setOwnerReferences(List.of(new OwnerReferenceBuilder().withApiVersion(owner.getApiVersion())
                .withKind(owner.getKind()).withName(owner.getMetadata().getName()).withUid(owner.getMetadata().getUid())
                .withController(true).withBlockOwnerDeletion(true).build()));
        return client.resource(pod).create();
    }

    /** A pod created directly, labelled app=<app>, one container. */
    private Pod plainPod(String name, String app) {
        return client.resource(new PodBuilder().withNewMetadata().withName(name).withNamespace(ns)
                .withLabels(Map.of("app", app)).endMetadata()
                .withNewSpec().addNewContainer().withName("web").withImage("localhost/demo-app:latest").endContainer()
                .endSpec().build()).create();
    }

    private static Container container(Pod pod, String name) {
        return pod.getSpec().getContainers().stream().filter(c -> name.equals(c.getName())).findFirst().orElseThrow();
    }

    private DrainPolicy awaitPolicy(java.util.function.Predicate<DrainPolicy> condition) {
        return await().atMost(WAIT).until(() -> client.resources(DrainPolicy.class).inNamespace(ns).withName("web").get(),
                p -> p != null && p.getStatus() != null && condition.test(p));
    }

    private static Condition ready(DrainPolicy p) {
        return p.getStatus().getConditions().stream().filter(c -> "Ready".equals(c.getType())).findFirst().orElse(null);
    }

    @Test
    void aPlainDeploymentsPodsComeOutProtected() {
        Deployment deployment = client.resource(Serialization.unmarshal(DEPLOYMENT, Deployment.class)).inNamespace(ns).create();
        // What the Deployment controller would do: a ReplicaSet from the template, which creates the pods.
        ReplicaSet rs = client.resource(new ReplicaSetBuilder().withNewMetadata().withName("web-5d8f9c")
                .withNamespace(ns).withLabels(Map.of("app", "web"))
                .withOwnerReferences(new OwnerReferenceBuilder().withApiVersion("apps/v1").withKind("Deployment")
                        .withName("web").withUid(deployment.getMetadata().getUid()).withController(true).build())
                .endMetadata().withNewSpec().withReplicas(2).withSelector(deployment.getSpec().getSelector())
                .withTemplate(deployment.getSpec().getTemplate()).endSpec().build()).create();

        Pod pod = podOf(rs, rs.getSpec().getTemplate(), "web-5d8f9c-a1b2c");

        assertThat(pod.getMetadata().getOwnerReferences()).singleElement()
                .satisfies(o -> assertThat(o.getName()).isEqualTo("web-5d8f9c"));
        assertThat(pod.getMetadata().getLabels()).containsEntry(Constants.APP_LABEL, "policy.web")
                .containsEntry("app.kubernetes.io/managed-by", "Helm").containsEntry("app", "web");
        // traefik throttle 8 s: propagation 10, hold 15, grace 15 + request 20 + shutdown 5.
        assertThat(pod.getMetadata().getAnnotations()).containsEntry(Constants.HOLD_ANNOTATION, "15")
                .containsEntry(Constants.DRAIN_POLICY_LABEL, "web");
        assertThat(pod.getSpec().getTerminationGracePeriodSeconds()).isEqualTo(40L);
        assertThat(pod.getSpec().getInitContainers()).extracting(Container::getName).containsExactly(DrainHelper.INIT_CONTAINER);
        assertThat(pod.getSpec().getVolumes()).anyMatch(v -> DrainHelper.VOLUME.equals(v.getName()));
        assertThat(pod.getSpec().getReadinessGates()).anyMatch(g -> Constants.IN_ROTATION_CONDITION.equals(g.getConditionType()));
        List<String> hook = container(pod, "web").getLifecycle().getPreStop().getExec().getCommand();
        assertThat(hook).startsWith(DrainHelper.BINARY, "prestop").containsSequence("--app", "policy.web")
                .containsSequence("--namespace", ns).containsSequence("--hold", "15").doesNotContain("--then");
        assertThat(container(pod, "sidecar").getLifecycle()).as("only the serving container gets the hook").isNull();

        DrainPolicy policy = awaitPolicy(p -> Integer.valueOf(1).equals(p.getStatus().getCoveredPods()));
        assertThat(policy.getStatus().getUnprotectedPods()).isZero();
        assertThat(ready(policy).getReason()).isEqualTo("AllPodsProtected");
        assertThat(policy.getStatus().getDrainBudget().getTerminationGracePeriodSeconds()).isEqualTo(40);
    }

    @Test
    void aStatefulSetsPodKeepsItsOwnPreStopAndItsLongerGrace() {
        StatefulSet sts = client.resource(Serialization.unmarshal(STATEFUL_SET, StatefulSet.class)).inNamespace(ns).create();

        Pod pod = podOf(sts, sts.getSpec().getTemplate(), "db-0");

        assertThat(pod.getMetadata().getOwnerReferences()).singleElement()
                .satisfies(o -> assertThat(o.getKind()).isEqualTo("StatefulSet"));
        assertThat(pod.getSpec().getTerminationGracePeriodSeconds()).as("a longer grace is never lowered").isEqualTo(600L);
        List<String> hook = container(pod, "db").getLifecycle().getPreStop().getExec().getCommand();
        assertThat(hook).startsWith(DrainHelper.BINARY, "prestop");
        int then = hook.indexOf("--then");
        assertThat(then).as("the pod's own preStop is handed to the helper").isPositive();
        assertThat(hook.get(then + 1)).contains("/bin/flush").contains("--all");
        assertThat(pod.getSpec().getInitContainers()).extracting(Container::getName).containsExactly(DrainHelper.INIT_CONTAINER);
    }

    @Test
    void aPodOutsideTheSelectorIsUntouched() {
        Pod pod = plainPod("other", "other");

        assertThat(pod.getSpec().getInitContainers()).isNullOrEmpty();
        assertThat(pod.getSpec().getReadinessGates()).isNullOrEmpty();
        assertThat(pod.getSpec().getContainers().get(0).getLifecycle()).isNull();
        assertThat(pod.getSpec().getTerminationGracePeriodSeconds()).isEqualTo(30L);
        assertThat(pod.getMetadata().getLabels()).doesNotContainKey(Constants.APP_LABEL);
    }

    @Test
    void withTheWebhookDownAPodIsCreatedAndReportedUnprotected() throws IOException {
        int closed;
        try (ServerSocket s = new ServerSocket(0)) {
            closed = s.getLocalPort();
        }
        configuration("https://127.0.0.1:" + closed + PodWebhook.PATH);
        try {
            Pod pod = plainPod("web-unseen", "web");
            assertThat(pod.getSpec().getInitContainers()).as("failurePolicy Ignore: admitted as it was").isNullOrEmpty();

            DrainPolicy policy = awaitPolicy(p -> Integer.valueOf(1).equals(p.getStatus().getUnprotectedPods()));
            assertThat(ready(policy).getStatus()).isEqualTo("False");
            assertThat(ready(policy).getReason()).isEqualTo("UnprotectedPods");
            assertThat(ready(policy).getMessage()).contains("web-unseen").contains("rollout restart");
            assertThat(policy.getStatus().getUnprotectedExamples()).containsExactly("web-unseen");
        } finally {
            configuration("https://127.0.0.1:" + port + PodWebhook.PATH);
        }
    }

    @Test
    void theServedCertificateIsRenewedWhenTheSecretNoLongerHoldsIt() throws Exception {
        String secretName = "zdt-operator-webhook-tls";
        String namespace = client.getNamespace();
        Secret before = client.secrets().inNamespace(namespace).withName(secretName).get();
        X509Certificate served = servedCertificate();
        assertThat(Certificates.certificates(decode(before, "tls.crt")).get(0)).isEqualTo(served);
        assertThat(Certificates.names(served)).contains("zdt-operator-webhook." + namespace + ".svc", "127.0.0.1");

        // A serving certificate that no longer fits (made for other names, as after a Service rename): the next
        // check makes a new one from the same CA and serves it.
        Certificates.Issued stale = Certificates.serving(new Certificates.Issued(decode(before, "ca.crt"),
                decode(before, "ca.key")), List.of("elsewhere.example"), java.time.Instant.now(), Duration.ofDays(1));
        client.secrets().inNamespace(namespace).withName(secretName).edit(s -> {
            s.getData().put("tls.crt", Base64.getEncoder().encodeToString(stale.certPem().getBytes(StandardCharsets.US_ASCII)));
            s.getData().put("tls.key", Base64.getEncoder().encodeToString(stale.keyPem().getBytes(StandardCharsets.US_ASCII)));
            return s;
        });
        webhook.check();

        Secret after = client.secrets().inNamespace(namespace).withName(secretName).get();
        X509Certificate renewed = Certificates.certificates(decode(after, "tls.crt")).get(0);
        assertThat(renewed.getSerialNumber()).isNotEqualTo(served.getSerialNumber());
        assertThat(decode(after, "ca.crt")).isEqualTo(decode(before, "ca.crt"));
        assertThat(servedCertificate()).isEqualTo(renewed);
        // And the API server still trusts it: a pod created now is mutated.
        Pod pod = plainPod("web-after-renewal", "web");
        assertThat(pod.getSpec().getInitContainers()).extracting(Container::getName).containsExactly(DrainHelper.INIT_CONTAINER);
    }

    private static String decode(Secret s, String key) {
        return new String(Base64.getDecoder().decode(s.getData().get(key)), StandardCharsets.US_ASCII);
    }

    /** The certificate the webhook presents right now, read over TLS without trusting it. */
    private X509Certificate servedCertificate() throws Exception {
        SSLContext tls = SSLContext.getInstance("TLS");
        tls.init(null, new TrustManager[] { new X509TrustManager() {
            @Override
            public void checkClientTrusted(X509Certificate[] chain, String authType) {
            }

            @Override
            public void checkServerTrusted(X509Certificate[] chain, String authType) {
            }

            @Override
            public X509Certificate[] getAcceptedIssuers() {
                return new X509Certificate[0];
            }
        } }, null);
        try (SSLSocket socket = (SSLSocket) tls.getSocketFactory().createSocket("127.0.0.1", port)) {
            socket.startHandshake();
            return (X509Certificate) socket.getSession().getPeerCertificates()[0];
        }
    }
}
