package dev.zdt.operator.reconcile;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;

import org.junit.jupiter.api.Test;

import dev.zdt.operator.api.v1alpha1.DrainRecord;
import dev.zdt.operator.api.v1alpha1.ZeroDowntimeApp;
import dev.zdt.operator.api.v1alpha1.ZeroDowntimeAppStatus;
import io.fabric8.kubernetes.api.model.ConditionBuilder;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;

/**
 * The reconciler's memory of its own status writes: used while the informer's copy is older than the
 * write, and never once the copy has caught up or someone else wrote after it.
 */
class WrittenStatusesTest {

    private final WrittenStatuses written = new WrittenStatuses();

    @Test
    void aCopyOlderThanTheWriteIsSeenWithTheWrittenStatus() {
        ZeroDowntimeApp stale = app("uid-1", "10", ready("True"));
        written.wrote(app("uid-1", "12", ready("False")));

        ZeroDowntimeApp seen = written.freshest(stale);

        assertThat(readyOf(seen)).isEqualTo("False");
        assertThat(seen.getMetadata().getResourceVersion()).as("metadata stays the copy's").isEqualTo("10");
        assertThat(readyOf(stale)).as("the cached copy itself is not changed").isEqualTo("True");
        // What the reconciler then computes (the written status again) is no reason to write.
        assertThat(ZeroDowntimeAppReconciler.unchanged(seen.getStatus(), status(ready("False")))).isTrue();
        assertThat(written.size()).isEqualTo(1);
    }

    @Test
    void aCopyThatCaughtUpIsUsedAsItIsAndTheEntryDropped() {
        written.wrote(app("uid-1", "12", ready("False")));

        ZeroDowntimeApp same = app("uid-1", "12", ready("False"));
        assertThat(written.freshest(same)).isSameAs(same);
        assertThat(written.size()).isZero();
    }

    @Test
    void aLaterWriteBySomeoneElseWins() {
        written.wrote(app("uid-1", "12", ready("False")));

        // Someone else set Ready back after our write: the reconciler must see that, and write again.
        ZeroDowntimeApp newer = app("uid-1", "15", ready("True"));
        ZeroDowntimeApp seen = written.freshest(newer);
        assertThat(seen).isSameAs(newer);
        assertThat(ZeroDowntimeAppReconciler.unchanged(seen.getStatus(), status(ready("False")))).isFalse();
    }

    @Test
    void aRecreatedAppOfTheSameNameIsNotGivenTheOldOnesStatus() {
        written.wrote(app("uid-1", "12", ready("False")));

        ZeroDowntimeApp recreated = app("uid-2", "3", ready("True"));
        assertThat(written.freshest(recreated)).isSameAs(recreated);
        assertThat(written.size()).isZero();
    }

    @Test
    void resourceVersionsThatAreNotNumbersAreNeitherKeptNorCompared() {
        written.wrote(app("uid-1", "abc", ready("False")));
        assertThat(written.size()).isZero();

        written.wrote(app("uid-1", "12", ready("False")));
        ZeroDowntimeApp odd = app("uid-1", "xyz", ready("True"));
        assertThat(written.freshest(odd)).isSameAs(odd);
    }

    @Test
    void theDrainReportersRecordsComeFromTheCopy() {
        ZeroDowntimeApp stale = app("uid-1", "10", ready("True"));
        DrainRecord record = new DrainRecord();
        record.setPod("a-1");
        stale.getStatus().setLastDrains(List.of(record));
        written.wrote(app("uid-1", "12", ready("False")));

        assertThat(written.freshest(stale).getStatus().getLastDrains()).extracting(DrainRecord::getPod).containsExactly("a-1");
    }

    @Test
    void appsAreKeptApart() {
        written.wrote(app("uid-1", "12", ready("False")));
        ZeroDowntimeApp other = app("uid-9", "10", ready("True"));
        other.getMetadata().setName("other");
        assertThat(written.freshest(other)).isSameAs(other);
        assertThat(written.size()).isEqualTo(1);
    }

    private static ZeroDowntimeApp app(String uid, String resourceVersion, io.fabric8.kubernetes.api.model.Condition ready) {
        ZeroDowntimeApp app = new ZeroDowntimeApp();
        app.setMetadata(new ObjectMetaBuilder().withNamespace("ns").withName("shop").withUid(uid)
                .withResourceVersion(resourceVersion).build());
        app.setStatus(status(ready));
        return app;
    }

    private static ZeroDowntimeAppStatus status(io.fabric8.kubernetes.api.model.Condition ready) {
        ZeroDowntimeAppStatus s = new ZeroDowntimeAppStatus();
        s.setReplicas(3);
        s.setConditions(new java.util.ArrayList<>(List.of(ready)));
        return s;
    }

    private static io.fabric8.kubernetes.api.model.Condition ready(String value) {
        return new ConditionBuilder().withType("Ready").withStatus(value).withReason("R").withMessage("m")
                .withLastTransitionTime("2026-12-02T01:00:00Z").build();
    }

    private static String readyOf(ZeroDowntimeApp app) {
        return app.getStatus().getConditions().get(0).getStatus();
    }
}
