package dev.zdt.operator.gate;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.Test;

import dev.zdt.operator.api.v1alpha1.DrainRecord;
import dev.zdt.operator.api.v1alpha1.DrainRecord.ReleasedBy;

/** The log lines of drains: one per pod, and one summary for a burst released together (per-pod lines at DEBUG). */
class DrainSummaryTest {

    @Test
    void aBurstIsSummarisedByOutcomeInAFixedOrderWithTheRangeOfHolds() {
        List<DrainRecord> burst = new ArrayList<>();
        for (int i = 0; i < 998; i++) {
            burst.add(record("web-" + i, ReleasedBy.VERIFIED, i == 0 ? 3.1 : 4.0));
        }
        burst.add(record("web-998", ReleasedBy.TIMEOUT, 42.0));
        burst.add(record("web-999", ReleasedBy.TIMEOUT, 42.0));

        assertThat(DrainReporter.summary("shop/web", burst)).isEqualTo("drain shop/web: 1000 pods released together "
                + "(2 Timeout, 998 Verified) after 3.1s to 42.0s; one line per pod at DEBUG");
    }

    @Test
    void aSingleOutcomeNamesOnlyThatOutcome() {
        List<DrainRecord> drains = new ArrayList<>();
        for (int i = 0; i < 11; i++) {
            drains.add(record("web-" + i, ReleasedBy.VERIFIED, i == 0 ? 2.0 : 2.5));
        }
        assertThat(DrainReporter.summary("shop/web", drains))
                .isEqualTo("drain shop/web: 11 pods released together (11 Verified) after 2.0s to 2.5s; "
                        + "one line per pod at DEBUG");
    }

    @Test
    void aPodsLineNamesItsOutcomeHoldAndReason() {
        assertThat(DrainReporter.line("shop/web", record("web-1", ReleasedBy.VERIFIED, 6.2)))
                .isEqualTo("drain shop/web pod web-1 released by Verified after 6.2s: out of rotation");
    }

    private static DrainRecord record(String pod, ReleasedBy by, double held) {
        DrainRecord r = new DrainRecord();
        r.setPod(pod);
        r.setReleasedBy(by);
        r.setHeldSeconds(held);
        r.setMessage("out of rotation");
        return r;
    }
}
