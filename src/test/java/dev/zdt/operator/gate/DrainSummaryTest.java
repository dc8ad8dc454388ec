package dev.zdt.operator.gate;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Map;

import org.junit.jupiter.api.Test;

/** The one log line for a burst of drains released together (per-pod lines go to DEBUG). */
class DrainSummaryTest {

    @Test
    void aBurstIsSummarisedByOutcomeInAFixedOrderWithTheRangeOfHolds() {
        String line = DrainGate.summary("shop/web", Map.of("Verified", 998L, "Timeout", 2L), 3.1, 42.0);

        assertThat(line).isEqualTo("drain shop/web: 1000 pods released together (2 Timeout, 998 Verified) "
                + "after 3.1s to 42.0s; one line per pod at DEBUG");
    }

    @Test
    void aSingleOutcomeNamesOnlyThatOutcome() {
        assertThat(DrainGate.summary("shop/web", Map.of("Verified", 11L), 2.0, 2.5))
                .isEqualTo("drain shop/web: 11 pods released together (11 Verified) after 2.0s to 2.5s; "
                        + "one line per pod at DEBUG");
    }
}
