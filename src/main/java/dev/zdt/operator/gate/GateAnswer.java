package dev.zdt.operator.gate;

/** What the gate answers a call: the kubelet only needs the status; people read the text. */
public record GateAnswer(int status, String text) {
}
