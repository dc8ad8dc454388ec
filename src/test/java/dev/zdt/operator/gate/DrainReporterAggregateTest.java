package dev.zdt.operator.gate;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;

/** A flood of refused calls makes one Event per app and reason per window, with a count. */
class DrainReporterAggregateTest {

    private static final Instant T0 = Instant.parse("2026-12-01T10:00:00Z");

    @Test
    void aThousandWarningsInAWindowMakeOneEventAndTheNextCarriesTheCount() {
        Map<String, DrainReporter.Window> windows = new HashMap<>();
        List<String> written = new ArrayList<>();
        for (int i = 0; i < 1000; i++) {
            String t = DrainReporter.aggregate(windows, "a/shop/R", "refused", T0.plusMillis(i * 50L));
            if (t != null) {
                written.add(t);
            }
        }
        assertThat(written).containsExactly("refused");
        // 1000 calls 50 ms apart span 50 s: the next window starts at 60 s.
        assertThat(DrainReporter.aggregate(windows, "a/shop/R", "refused", T0.plusSeconds(59))).isNull();
        assertThat(DrainReporter.aggregate(windows, "a/shop/R", "refused", T0.plusSeconds(60)))
                .isEqualTo("refused (and 1000 more like it in the 60 s before)");
        assertThat(DrainReporter.aggregate(windows, "b/cart/R", "refused", T0.plusSeconds(1)))
                .as("another app has its own window").isEqualTo("refused");
        assertThat(DrainReporter.aggregate(windows, "a/shop/R", "refused", T0.plusSeconds(200)))
                .as("a quiet window writes the plain text").isEqualTo("refused");
    }

    @Test
    void aRefusedEventLeavesNoWindowSoTheNextWarningIsWrittenWithItInItsCount() {
        Map<String, DrainReporter.Window> windows = new HashMap<>();
        assertThat(DrainReporter.aggregate(windows, "a/shop/R", "held to its bound", T0)).isEqualTo("held to its bound");
        // The API server refused that Event: the next warning, a second later, is not swallowed by its window.
        DrainReporter.unwritten(windows, "a/shop/R");
        assertThat(DrainReporter.aggregate(windows, "a/shop/R", "held to its bound", T0.plusSeconds(1)))
                .isEqualTo("held to its bound (and 1 more like it in the 60 s before)");
        assertThat(DrainReporter.aggregate(windows, "a/shop/R", "held to its bound", T0.plusSeconds(2)))
                .as("written: its window is open again").isNull();
        DrainReporter.unwritten(windows, "b/cart/R");
        assertThat(windows).as("no window is made for a key that had none").doesNotContainKey("b/cart/R");
    }
}
