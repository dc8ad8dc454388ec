package dev.zdt.operator.gate;

import static org.assertj.core.api.Assertions.assertThat;

import java.lang.reflect.Method;
import java.lang.reflect.Parameter;
import java.util.Arrays;

import jakarta.annotation.Priority;
import jakarta.enterprise.event.Observes;

import org.junit.jupiter.api.Test;

import io.quarkus.runtime.ShutdownEvent;

/**
 * On shutdown the gate finishes the pass in progress before the drain reporter stops: a pass
 * answers its calls, then hands their records to the reporter, so a reporter that stopped in
 * between refused the record of the replica's last release (the operator-restart-draining drill
 * lost one that way). CDI calls observers with the lower priority first.
 */
class ShutdownOrderTest {

    @Test
    void theGateFinishesItsPassBeforeTheReporterStops() {
        int gate = shutdownPriority(DrainGate.class);
        int reporter = shutdownPriority(DrainReporter.class);
        assertThat(gate).as("DrainGate's ShutdownEvent observer priority").isLessThan(reporter);
    }

    private static int shutdownPriority(Class<?> bean) {
        for (Method m : bean.getDeclaredMethods()) {
            for (Parameter p : m.getParameters()) {
                if (p.getType() == ShutdownEvent.class && p.isAnnotationPresent(Observes.class)) {
                    Priority priority = p.getAnnotation(Priority.class);
                    assertThat(priority).as("%s.%s names its priority", bean.getSimpleName(), m.getName()).isNotNull();
                    return priority.value();
                }
            }
        }
        throw new AssertionError(bean.getSimpleName() + " observes no ShutdownEvent; methods: "
                + Arrays.toString(bean.getDeclaredMethods()));
    }
}
