package dev.zdt.operator.gate;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.Set;
import java.util.TreeSet;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import dev.zdt.operator.Constants;
import dev.zdt.operator.api.v1alpha1.DrainRecord;
import dev.zdt.operator.api.v1alpha1.ZeroDowntimeApp;
import dev.zdt.operator.api.v1alpha1.ZeroDowntimeAppStatus;
import dev.zdt.operator.testing.Apps;
import dev.zdt.operator.testing.StatusOwners;

/**
 * The drain reporter's status patch writes only the fields docs/design.md gives it, whether the app
 * has a status yet or not, and it writes no DrainPolicy status (that has one writer, its reconciler).
 */
class DrainReporterOwnershipTest {

    private final DrainReporter reporter = new DrainReporter(null, null, null);
    private final Set<String> mine = StatusOwners.documented().ownedBy(StatusOwners.APP, "DrainReporter");

    @AfterEach
    void stop() {
        reporter.stop();
    }

    @Test
    void thePatchWritesOnlyTheReportersFieldsAndTestsTheVersionItRead() throws Exception {
        ZeroDowntimeApp fresh = app(null);
        ZeroDowntimeAppStatus reconciled = new ZeroDowntimeAppStatus();
        reconciled.setReplicas(3);
        reconciled.setDrainingPods(1);
        ZeroDowntimeApp withStatus = app(reconciled);

        for (ZeroDowntimeApp current : List.of(fresh, withStatus)) {
            // Both fields the reporter writes, as after a drain whose propagation was measured.
            JsonNode ops = new ObjectMapper().readTree(reporter.patch(current, List.of(record()),
                    dev.zdt.operator.budget.PropagationWindow.add(null, new dev.zdt.operator.budget.PropagationSample(
                            "shop-a", "Traefik", 15, java.util.Map.of("traefik-0", 9.5), Set.of()))));
            Set<String> written = new TreeSet<>();
            for (JsonNode op : ops) {
                String path = op.get("path").asText();
                if (op.get("op").asText().equals("test")) {
                    assertThat(path).isEqualTo("/metadata/resourceVersion");
                    assertThat(op.get("value").asText()).isEqualTo("41");
                } else if (path.equals("/status")) {
                    op.get("value").fieldNames().forEachRemaining(written::add);
                } else {
                    assertThat(path).startsWith("/status/");
                    written.add(path.substring("/status/".length()).split("/")[0]);
                }
            }
            assertThat(written).as("status fields the reporter's patch writes").contains("lastDrains", "observedPropagation");
            assertThat(mine).as("the reporter writes only the status fields it owns").containsAll(written);
        }
    }

    @Test
    void aPolicysDrainsAreNotWrittenToAnyStatus() {
        assertThat(DrainReporter.writesStatusOf("shop")).isTrue();
        assertThat(DrainReporter.writesStatusOf(Constants.POLICY_APP_PREFIX + "legacy")).isFalse();
    }

    private static ZeroDowntimeApp app(ZeroDowntimeAppStatus status) {
        ZeroDowntimeApp app = Apps.parse(Apps.yaml("shop", ""));
        app.getMetadata().setNamespace("ns");
        app.getMetadata().setResourceVersion("41");
        app.setStatus(status);
        return app;
    }

    private static DrainRecord record() {
        DrainRecord r = new DrainRecord();
        r.setPod("shop-a");
        r.setHeldSeconds(2.5);
        r.setReleasedBy(DrainRecord.ReleasedBy.VERIFIED);
        return r;
    }
}
