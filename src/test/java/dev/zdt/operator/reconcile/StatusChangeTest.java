package dev.zdt.operator.reconcile;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;

import org.junit.jupiter.api.Test;

import dev.zdt.operator.api.v1alpha1.DrainRecord;
import dev.zdt.operator.api.v1alpha1.ZeroDowntimeApp;
import dev.zdt.operator.api.v1alpha1.ZeroDowntimeAppStatus;
import dev.zdt.operator.status.StatusPath;
import io.fabric8.kubernetes.api.model.Condition;
import io.fabric8.kubernetes.api.model.ConditionBuilder;

/** What the reconciler says changed when it writes a status (its debug line), and when it writes none. */
class StatusChangeTest {

    /** The app's status path as the reconciler configures it (no Events are written here). */
    private static final StatusPath<ZeroDowntimeApp, ZeroDowntimeAppStatus> PATH = ZeroDowntimeAppReconciler.statusPath(null);

    @Test
    void theChangedFieldsAndConditionTypesAreNamed() {
        ZeroDowntimeAppStatus before = status(3, condition("Ready", "True"), condition("Degraded", "False"));
        ZeroDowntimeAppStatus after = status(2, condition("Ready", "False"), condition("Degraded", "False"));
        assertThat(PATH.unchanged(before, after)).isFalse();
        assertThat(PATH.changedFields(before, after)).containsExactly("conditions Ready", "readyReplicas");
    }

    @Test
    void aConditionThatAppearsIsNamedAndNoCopyMeansAll() {
        ZeroDowntimeAppStatus before = status(3, condition("Ready", "True"));
        ZeroDowntimeAppStatus after = status(3, condition("Ready", "True"), condition("Progressing", "True"));
        assertThat(PATH.changedFields(before, after)).containsExactly("conditions Progressing");
        assertThat(PATH.changedFields(null, after)).containsExactly("all");
    }

    @Test
    void theDrainReportersFieldIsNeitherAChangeNorAReasonToWrite() {
        ZeroDowntimeAppStatus before = status(3, condition("Ready", "True"));
        ZeroDowntimeAppStatus after = status(3, condition("Ready", "True"));
        after.setLastDrains(List.of(new DrainRecord()));
        assertThat(PATH.unchanged(before, after)).isTrue();
        assertThat(PATH.changedFields(before, after)).isEmpty();
    }

    @Test
    void theValuesOfAChangedConditionAreSpelledOut() {
        ZeroDowntimeAppStatus before = status(3, condition("Ready", "True"), condition("Degraded", "False"));
        ZeroDowntimeAppStatus after = status(3, condition("Ready", "False"), condition("Degraded", "False"));
        assertThat(PATH.conditionChanges(before, after)).containsExactly(
                "Ready True/R \"m\" since 2026-12-02T01:00:00Z -> False/R \"m\" since 2026-12-02T01:00:00Z");
        assertThat(PATH.conditionChanges(before, before)).isEmpty();
        assertThat(PATH.conditionChanges(status(3), after)).hasSize(2)
                .allSatisfy(change -> assertThat(change).contains("(none) -> "));
    }

    private static ZeroDowntimeAppStatus status(int ready, Condition... conditions) {
        ZeroDowntimeAppStatus s = new ZeroDowntimeAppStatus();
        s.setReplicas(3);
        s.setReadyReplicas(ready);
        s.setConditions(new java.util.ArrayList<>(List.of(conditions)));
        return s;
    }

    private static Condition condition(String type, String status) {
        return new ConditionBuilder().withType(type).withStatus(status).withReason("R").withMessage("m")
                .withLastTransitionTime("2026-12-02T01:00:00Z").build();
    }
}
