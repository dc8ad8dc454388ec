package dev.zdt.operator.reconcile;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;

import org.junit.jupiter.api.Test;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import dev.zdt.operator.api.v1alpha1.DrainPolicyStatus;
import dev.zdt.operator.api.v1alpha1.DrainRecord;
import dev.zdt.operator.api.v1alpha1.ZeroDowntimeApp;
import dev.zdt.operator.api.v1alpha1.ZeroDowntimeAppStatus;
import dev.zdt.operator.budget.DrainBudget;
import dev.zdt.operator.testing.Apps;
import dev.zdt.operator.testing.StatusOwners;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodBuilder;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.api.model.apps.DeploymentBuilder;
import io.fabric8.kubernetes.client.utils.KubernetesSerialization;

/**
 * The reconciler's status write sends only the fields docs/design.md gives it: what the server-side
 * apply would carry, built as production builds it (StatusAggregator, then withStatus, serialized by
 * the client's serialization), for an app whose status already holds the drain reporter's records.
 */
class StatusOwnershipTest {

    private static final String RECONCILER = "ZeroDowntimeAppReconciler";
    private static final Instant NOW = Instant.parse("2026-01-01T10:00:00Z");
    private final StatusOwners owners = StatusOwners.documented();

    @Test
    void everyStatusFieldHasExactlyOneDocumentedWriter() {
        assertThat(owners.table().get(StatusOwners.APP).keySet())
                .as("docs/design.md, Who writes the status: ZeroDowntimeApp rows")
                .isEqualTo(StatusOwners.fieldsOf(ZeroDowntimeAppStatus.class));
        assertThat(owners.table().get(StatusOwners.POLICY).keySet())
                .as("docs/design.md, Who writes the status: DrainPolicy rows")
                .isEqualTo(StatusOwners.fieldsOf(DrainPolicyStatus.class));
        assertThat(owners.ownedBy(StatusOwners.POLICY, "DrainPolicyReconciler"))
                .as("a DrainPolicy's status has one writer").isEqualTo(StatusOwners.fieldsOf(DrainPolicyStatus.class));
        assertThat(owners.ownedBy(StatusOwners.APP, "DrainReporter")).containsExactly("lastDrains", "observedPropagation");
    }

    @Test
    void theReconcilersStatusApplySendsOnlyItsOwnFields() throws Exception {
        ZeroDowntimeApp app = appWithReportersRecords();
        DrainBudget budget = DrainBudget.derive(app.getSpec().getTraffic(), app.getSpec().getDrain(),
                app.getSpec().getStrategy());
        Deployment deployment = new DeploymentBuilder()
                .withNewMetadata().withName("shop").withNamespace("ns").withGeneration(1L).endMetadata()
                .withNewStatus().withObservedGeneration(1L).withReplicas(3).withUpdatedReplicas(2)
                    .withReadyReplicas(2).withAvailableReplicas(2).endStatus().build();
        Pod draining = new PodBuilder().withNewMetadata().withName("shop-a").withNamespace("ns")
                .withDeletionTimestamp("2026-01-01T09:59:50Z").endMetadata().build();

        List<ZeroDowntimeAppStatus> written = List.of(
                new StatusAggregator(app, NOW).from(budget, Optional.empty(), List.of()),
                new StatusAggregator(app, NOW).from(budget, Optional.of(deployment), List.of(draining)),
                new StatusAggregator(app, NOW).invalid("InvalidSpec", "spec.replicas: must be at least 0"));

        Set<String> mine = owners.ownedBy(StatusOwners.APP, RECONCILER);
        Set<String> sentAtAll = new TreeSet<>();
        for (ZeroDowntimeAppStatus status : written) {
            Set<String> sent = sentFields(ZeroDowntimeAppReconciler.statusPath(null).withStatus(app, status));
            assertThat(mine).as("the reconciler sends only the status fields it owns").containsAll(sent);
            sentAtAll.addAll(sent);
        }
        assertThat(sentAtAll).as("and writes every field it owns in some state").isEqualTo(mine);
    }

    /** An app as the reconciler reads it: status.lastDrains and observedPropagation filled by the drain reporter. */
    private static ZeroDowntimeApp appWithReportersRecords() {
        ZeroDowntimeApp app = Apps.parse(Apps.yaml("shop", ""));
        app.getMetadata().setNamespace("ns");
        app.getMetadata().setGeneration(1L);
        ZeroDowntimeAppStatus status = new ZeroDowntimeAppStatus();
        DrainRecord record = new DrainRecord();
        record.setPod("shop-old");
        record.setHeldSeconds(3.0);
        record.setReleasedBy(DrainRecord.ReleasedBy.VERIFIED);
        status.setLastDrains(List.of(record));
        status.setObservedPropagation(dev.zdt.operator.budget.PropagationWindow.add(null,
                new dev.zdt.operator.budget.PropagationSample("shop-old", "Traefik", 15,
                        java.util.Map.of("traefik-0", 9.0), java.util.Set.of())));
        app.setStatus(status);
        return app;
    }

    /** The status fields of the object as the client serializes it for the apply. */
    private static Set<String> sentFields(ZeroDowntimeApp applied) throws Exception {
        JsonNode tree = new ObjectMapper().readTree(new KubernetesSerialization().asJson(applied));
        Set<String> fields = new TreeSet<>();
        tree.path("status").fieldNames().forEachRemaining(fields::add);
        return fields;
    }
}
