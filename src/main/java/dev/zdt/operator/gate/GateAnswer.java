package dev.zdt.operator.gate;

import java.time.Instant;

/**
 * What the gate answers a call: the kubelet only needs the status; people read the text.
 *
 * @param decidedAt when the gate decided (shown as the {@code X-Zdt-Decided-At} header, to line up with kubelet logs)
 */
public record GateAnswer(int status, String text, Instant decidedAt) {

    public GateAnswer(int status, String text) {
        this(status, text, Instant.now());
    }
}
