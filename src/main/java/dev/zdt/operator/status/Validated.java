package dev.zdt.operator.status;

import java.util.List;

/**
 * What a reconciler's validation step found: the value the rest of the pass works from (the drain
 * budget) when the spec is valid, else every problem, each a message that says what to fix.
 */
public record Validated<T>(T value, List<String> problems) {

    public Validated {
        problems = List.copyOf(problems);
        if (problems.isEmpty() && value == null) {
            throw new IllegalArgumentException("a valid spec has a value");
        }
    }

    public boolean valid() {
        return problems.isEmpty();
    }

    /** The problems as one message for the InvalidSpec condition and its Warning. */
    public String message() {
        return String.join("; ", problems);
    }
}
