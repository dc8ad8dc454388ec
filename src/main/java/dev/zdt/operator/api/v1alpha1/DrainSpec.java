package dev.zdt.operator.api.v1alpha1;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import io.fabric8.generator.annotation.Default;
import io.fabric8.generator.annotation.Max;
import io.fabric8.generator.annotation.Min;
import io.fabric8.generator.annotation.ValidationRule;

@JsonInclude(JsonInclude.Include.NON_NULL)
@ValidationRule(value = "!has(self.terminationGracePeriodSeconds) || !has(self.holdSeconds) || self.terminationGracePeriodSeconds >= self.holdSeconds + (has(self.streams) ? self.streams.windDownSeconds : 0) + self.maxRequestSeconds + self.shutdownSeconds",
        message = "terminationGracePeriodSeconds must be at least holdSeconds + streams.windDownSeconds + maxRequestSeconds + shutdownSeconds, or the kubelet kills pods before they finish draining")
@ValidationRule(value = "!has(self.terminationGracePeriodSeconds) || self.terminationGracePeriodSeconds >= (has(self.streams) ? self.streams.windDownSeconds : 0) + self.maxRequestSeconds + self.shutdownSeconds",
        message = "terminationGracePeriodSeconds must be at least streams.windDownSeconds + maxRequestSeconds + shutdownSeconds (plus the hold), or the kubelet kills pods before they finish draining")
@ValidationRule(value = "!has(self.streams) || self.streams.windDownSeconds == 0 || self.mode == 'gate'",
        message = "streams.windDownSeconds needs mode gate: only the drain helper runs the stream phase; set mode: gate or remove streams")
public class DrainSpec {

    /** What the serving container's preStop hook does. */
    public enum Mode {
        @JsonProperty("gate") GATE,
        @JsonProperty("httpGet") HTTP_GET,
        @JsonProperty("sleep") SLEEP,
        @JsonProperty("exec") EXEC;

        /** The name users write in {@code drain.mode}. */
        public String value() {
            return switch (this) {
                case GATE -> "gate";
                case HTTP_GET -> "httpGet";
                case SLEEP -> "sleep";
                case EXEC -> "exec";
            };
        }

        /** Whether the pods' drain asks the operator's drain gate (and so carry the in-rotation readiness gate). */
        public boolean asksTheGate() {
            return this != SLEEP;
        }

        /**
         * Whether the hook sends the pod's own projected token (gate and exec modes); httpGet mode's
         * kubelet hook can send only a fixed header, so it carries the app's token instead.
         */
        public boolean provesItsPod() {
            return this == GATE || this == EXEC;
        }
    }

    @JsonPropertyDescription("Longest request the app serves, in seconds: in-flight requests get this long after SIGTERM.")
    @Default("30")
    @Min(0)
    @Max(3600)
    private Integer maxRequestSeconds = 30;

    @JsonPropertyDescription("Seconds the app's own graceful shutdown takes after SIGTERM, beyond finishing requests.")
    @Default("5")
    @Min(0)
    @Max(600)
    private Integer shutdownSeconds = 5;

    @JsonPropertyDescription("Seconds added to the propagation time to form the hold, for slow days.")
    @Default("5")
    @Min(0)
    @Max(300)
    private Integer safetyMarginSeconds = 5;

    @JsonPropertyDescription("What the serving container's preStop hook does. "
            + "gate (default): an init container copies a small static helper (zdt-drain) into an emptyDir; the preStop runs it, it asks the operator's drain gate for this exact pod and waits until the pod is verifiably out of rotation or the hold expired, sleeps what is left of the hold if the gate cannot answer, then runs the container's own preStop hook (kept, never dropped) within the grace period. Works in images without a shell and under Pod Security baseline and restricted. "
            + "httpGet: a preStop httpGet to the gate Service's ClusterIP; refused by Pod Security baseline and restricted since Kubernetes 1.34 (a hook may not name a host), cannot name its pod (the gate waits for every terminating pod of the app), and gives no hold if the operator replica holding the call crashes. "
            + "sleep: native preStop sleep for the derived hold, no verification, no operator needed. "
            + "exec: a shell command that calls the gate and falls back to sleeping the hold (images with /bin/sh and wget or curl). "
            + "Modes other than gate refuse a container that has its own preStop hook rather than drop it.")
    @Default("gate")
    private Mode mode = Mode.GATE;

    @JsonPropertyDescription("Override of the derived hold (propagation + safety margin): the longest the gate keeps a pod before letting SIGTERM through. Must not be below the propagation time.")
    @Min(1)
    @Max(3600)
    private Integer holdSeconds;

    @JsonPropertyDescription("Override of the derived terminationGracePeriodSeconds; must cover hold + streams.windDownSeconds + maxRequestSeconds + shutdownSeconds.")
    @Min(1)
    @Max(7200)
    private Integer terminationGracePeriodSeconds;

    @JsonPropertyDescription("Let the hold follow the front end's measured propagation (status.observedPropagation), between the derived hold and maxHoldSeconds. ZeroDowntimeApps only.")
    private CalibrationSpec calibration;

    @JsonPropertyDescription("The drain of long-lived connections (WebSocket, server-sent events, gRPC streams): after the hold, the app is told to end its streams and SIGTERM waits until they are closed, at most windDownSeconds, which the grace period counts. Mode gate only.")
    private StreamsSpec streams;

    public Integer getMaxRequestSeconds() { return maxRequestSeconds; }
    public void setMaxRequestSeconds(Integer maxRequestSeconds) { this.maxRequestSeconds = maxRequestSeconds; }
    public Integer getShutdownSeconds() { return shutdownSeconds; }
    public void setShutdownSeconds(Integer shutdownSeconds) { this.shutdownSeconds = shutdownSeconds; }
    public Integer getSafetyMarginSeconds() { return safetyMarginSeconds; }
    public void setSafetyMarginSeconds(Integer safetyMarginSeconds) { this.safetyMarginSeconds = safetyMarginSeconds; }
    public Mode getMode() { return mode; }
    public void setMode(Mode mode) { this.mode = mode; }
    public Integer getHoldSeconds() { return holdSeconds; }
    public void setHoldSeconds(Integer holdSeconds) { this.holdSeconds = holdSeconds; }
    public Integer getTerminationGracePeriodSeconds() { return terminationGracePeriodSeconds; }
    public void setTerminationGracePeriodSeconds(Integer v) { this.terminationGracePeriodSeconds = v; }
    public CalibrationSpec getCalibration() { return calibration; }
    public void setCalibration(CalibrationSpec calibration) { this.calibration = calibration; }
    public StreamsSpec getStreams() { return streams; }
    public void setStreams(StreamsSpec streams) { this.streams = streams; }
}
