package dev.zdt.operator.status;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;

import org.junit.jupiter.api.Test;

/** The pause before a refused Warning is tried again: doubling from 10 s, never past the periodic pass. */
class WarningRetryTest {

    @Test
    void theFirstRetryComesAfterTenSecondsAndEachFurtherOneWaitsTwiceAsLong() {
        assertThat(StatusPath.retryAfter(1)).isEqualTo(Duration.ofSeconds(10));
        assertThat(StatusPath.retryAfter(2)).isEqualTo(Duration.ofSeconds(20));
        assertThat(StatusPath.retryAfter(3)).isEqualTo(Duration.ofSeconds(40));
        assertThat(StatusPath.retryAfter(4)).isEqualTo(Duration.ofSeconds(80));
    }

    @Test
    void aRefusalThatLastsIsTriedNoMoreOftenThanThePeriodicPass() {
        assertThat(StatusPath.retryAfter(5)).isEqualTo(Duration.ofMinutes(2));
        assertThat(StatusPath.retryAfter(64)).isEqualTo(Duration.ofMinutes(2));
        assertThat(StatusPath.retryAfter(Integer.MAX_VALUE)).isEqualTo(Duration.ofMinutes(2));
    }

    @Test
    void aCountBelowOneIsTakenAsTheFirstRefusal() {
        assertThat(StatusPath.retryAfter(0)).isEqualTo(Duration.ofSeconds(10));
    }
}
