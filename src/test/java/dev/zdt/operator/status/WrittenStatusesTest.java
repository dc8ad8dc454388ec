package dev.zdt.operator.status;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;

import org.junit.jupiter.api.Test;

import dev.zdt.operator.api.v1alpha1.DrainRecord;
import dev.zdt.operator.api.v1alpha1.ZeroDowntimeApp;
import dev.zdt.operator.api.v1alpha1.ZeroDowntimeAppStatus;
import dev.zdt.operator.reconcile.ZeroDowntimeAppReconciler;
import io.fabric8.kubernetes.api.model.ConditionBuilder;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;

/**
 * The reconciler's memory of its own status writes: used while the informer's copy is older than the
 * write, and never once the copy has caught up or someone else wrote after it.
 */
class WrittenStatusesTest {

    /** The app's status path as its reconciler configures it (no Events are written here). */
    private final StatusPath<ZeroDowntimeApp, ZeroDowntimeAppStatus> path = ZeroDowntimeAppReconciler.statusPath(null);

    @Test
    void aCopyOlderThanTheWriteIsSeenWithTheWrittenStatus() {
        ZeroDowntimeApp stale = app("uid-1", "10", ready("True"));
        path.remember(app("uid-1", "12", ready("False")));

        ZeroDowntimeApp seen = path.freshest(stale);

        assertThat(readyOf(seen)).isEqualTo("False");
        assertThat(seen.getMetadata().getResourceVersion()).as("metadata stays the copy's").isEqualTo("10");
        assertThat(readyOf(stale)).as("the cached copy itself is not changed").isEqualTo("True");
        // What the reconciler then computes (the written status again) is no reason to write.
        assertThat(path.unchanged(seen.getStatus(), status(ready("False")))).isTrue();
        assertThat(path.remembered()).isEqualTo(1);
    }

    @Test
    void aCopyThatCaughtUpIsUsedAsItIsAndTheEntryDropped() {
        path.remember(app("uid-1", "12", ready("False")));

        ZeroDowntimeApp same = app("uid-1", "12", ready("False"));
        assertThat(path.freshest(same)).isSameAs(same);
        assertThat(path.remembered()).isZero();
    }

    @Test
    void aLaterWriteBySomeoneElseWins() {
        path.remember(app("uid-1", "12", ready("False")));

        // Someone else set Ready back after our write: the reconciler must see that, and write again.
        ZeroDowntimeApp newer = app("uid-1", "15", ready("True"));
        ZeroDowntimeApp seen = path.freshest(newer);
        assertThat(seen).isSameAs(newer);
        assertThat(path.unchanged(seen.getStatus(), status(ready("False")))).isFalse();
    }

    @Test
    void aRecreatedAppOfTheSameNameIsNotGivenTheOldOnesStatus() {
        path.remember(app("uid-1", "12", ready("False")));

        ZeroDowntimeApp recreated = app("uid-2", "3", ready("True"));
        assertThat(path.freshest(recreated)).isSameAs(recreated);
        assertThat(path.remembered()).isZero();
    }

    @Test
    void resourceVersionsThatAreNotNumbersAreNeitherKeptNorCompared() {
        path.remember(app("uid-1", "abc", ready("False")));
        assertThat(path.remembered()).isZero();

        path.remember(app("uid-1", "12", ready("False")));
        ZeroDowntimeApp odd = app("uid-1", "xyz", ready("True"));
        assertThat(path.freshest(odd)).isSameAs(odd);
    }

    @Test
    void theDrainReportersRecordsComeFromTheCopy() {
        ZeroDowntimeApp stale = app("uid-1", "10", ready("True"));
        DrainRecord record = new DrainRecord();
        record.setPod("a-1");
        stale.getStatus().setLastDrains(List.of(record));
        path.remember(app("uid-1", "12", ready("False")));

        assertThat(path.freshest(stale).getStatus().getLastDrains()).extracting(DrainRecord::getPod).containsExactly("a-1");
    }

    @Test
    void appsAreKeptApart() {
        path.remember(app("uid-1", "12", ready("False")));
        ZeroDowntimeApp other = app("uid-9", "10", ready("True"));
        other.getMetadata().setName("other");
        assertThat(path.freshest(other)).isSameAs(other);
        assertThat(path.remembered()).isEqualTo(1);
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
