package dev.zdt.operator.gate;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import jakarta.inject.Inject;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import dev.zdt.operator.testing.Apps;
import dev.zdt.operator.api.v1alpha1.DrainPolicy;
import dev.zdt.operator.gate.GateFixture.Answer;
import dev.zdt.operator.watch.Policies;
import dev.zdt.operator.testing.KubeApiServerResource;
import io.fabric8.kubernetes.api.model.Pod;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.junit.QuarkusTest;

/**
 * The gate holding the pods of a DrainPolicy (app {@code policy.<name>}) against a real API server:
 * the budget comes from the policy, the rotation from the EndpointSlices of the Services it names,
 * which are the user's own and carry no operator label.
 */
@QuarkusTest
@QuarkusTestResource(value = KubeApiServerResource.class, restrictToAnnotatedClass = false)
class PolicyGateTest extends GateTestBase {

    @Inject
    Policies policies;

    @BeforeEach
    void policy() {
        client.resource(Apps.webPolicy(f.ns, "traffic: {provider: generic, propagationSeconds: 1, verify: endpoints}\n"))
                .create();
        await().atMost(Duration.ofSeconds(10)).until(() -> policies.get(f.ns, "web") != null);
    }

    @Test
    void aPolicysPodIsHeldWhileItsServiceOffersItAndReleasedVerifiedOncePropagationPassed() throws Exception {
        Pod a = f.policyPod("web", "web-a", 20);
        Pod b = f.policyPod("web", "web-b", 20);
        f.serviceSlice("web", GateFixture.ready(a), GateFixture.ready(b));
        f.terminate(a);

        CompletableFuture<Answer> call = f.callPod("policy.web", "web-a");
        await().atMost(Duration.ofSeconds(5)).until(() -> gate.held() == 1);
        await().during(Duration.ofSeconds(2)).atMost(Duration.ofSeconds(4)).until(() -> !call.isDone());

        long removed = System.nanoTime();
        f.serviceSlice("web", GateFixture.terminating(a), GateFixture.ready(b));
        Answer answer = call.get(10, TimeUnit.SECONDS);
        assertThat(answer.status()).isEqualTo(200);
        assertThat(answer.body()).startsWith("Verified");
        // Propagation (1 s, from the policy) counted from the slice's change, never the hold (20 s).
        assertThat(answer.receivedNanos() - removed).isGreaterThanOrEqualTo(TimeUnit.SECONDS.toNanos(1))
                .isLessThan(TimeUnit.SECONDS.toNanos(10));
    }

    @Test
    void aPodThatIsNotThePolicysAndAPolicyThatDoesNotExistAreRefused() throws Exception {
        Pod other = f.policyPod("other", "other-a", 20);
        f.terminate(other);
        assertThat(f.callPod("policy.web", "other-a").get(10, TimeUnit.SECONDS).status()).isEqualTo(404);
        assertThat(f.callPod("policy.nope", "other-a").get(10, TimeUnit.SECONDS).status()).isEqualTo(404);
        // A name with a '.' that is not a policy's is not a name the gate serves.
        assertThat(f.call("/gate/v1/" + f.ns + "/shop.web/other-a").get(10, TimeUnit.SECONDS).status()).isEqualTo(400);
        assertThat(List.of(gate.held())).containsExactly(0);
    }
}
