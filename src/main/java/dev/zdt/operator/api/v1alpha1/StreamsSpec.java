package dev.zdt.operator.api.v1alpha1;

import java.util.List;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import io.fabric8.generator.annotation.Default;
import io.fabric8.generator.annotation.Max;
import io.fabric8.generator.annotation.Min;
import io.fabric8.generator.annotation.Size;
import io.fabric8.generator.annotation.ValidationRule;
import io.fabric8.kubernetes.api.model.IntOrString;

/**
 * The drain of long-lived connections (WebSocket, server-sent events, gRPC streams): after the hold,
 * when no new connection reaches the pod, the app is told to end its streams and SIGTERM waits until
 * they are closed, at most windDownSeconds, which the grace period counts.
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
@ValidationRule(value = "self.windDownSeconds > 0 || (!has(self.signal) && !has(self.ports))",
        message = "streams.signal and streams.ports need streams.windDownSeconds above 0: the stream phase has no time without it")
public class StreamsSpec {

    /** The most ports the helper watches: a container has a few, not hundreds. */
    public static final int MAX_PORTS = 64;

    @JsonPropertyDescription("Seconds the stream phase may last, after the hold and the container's own preStop hook and before SIGTERM: the app's streams get this long to end once it was told. Added to terminationGracePeriodSeconds. 0 (default): no stream phase. drain.mode gate only.")
    @Default("0")
    @Min(0)
    @Max(3600)
    private Integer windDownSeconds = 0;

    @JsonPropertyDescription("How the app learns that it should end its streams: an HTTP GET that the drain helper sends to the pod's own address at the start of the stream phase (e.g. the path that ends every open stream with a goodbye and refuses new ones). Absent: the container's own preStop hook, which runs just before, is the signal, or the app has none.")
    private StreamSignal signal;

    @JsonPropertyDescription("Whether SIGTERM waits until no ESTABLISHED TCP connection is left on the watched ports (the helper reads the pod's /proc/net/tcp and tcp6), at most windDownSeconds. false: SIGTERM follows the signal at once, and the app winds its streams down after SIGTERM within the longer grace period.")
    @Default("true")
    private Boolean waitForConnections = true;

    @JsonPropertyDescription("The serving container's ports to watch, by name or number; each must be declared in the container's ports. Default: for a ZeroDowntimeApp the port the Service targets, for a DrainPolicy every port the container declares.")
    @Size(max = MAX_PORTS)
    private List<IntOrString> ports;

    public Integer getWindDownSeconds() { return windDownSeconds; }
    public void setWindDownSeconds(Integer windDownSeconds) { this.windDownSeconds = windDownSeconds; }
    public StreamSignal getSignal() { return signal; }
    public void setSignal(StreamSignal signal) { this.signal = signal; }
    public Boolean getWaitForConnections() { return waitForConnections; }
    public void setWaitForConnections(Boolean waitForConnections) { this.waitForConnections = waitForConnections; }
    public List<IntOrString> getPorts() { return ports; }
    public void setPorts(List<IntOrString> ports) { this.ports = ports; }

    /** The wind-down in seconds; 0 when there is no stream phase. */
    public int windDown() {
        return windDownSeconds == null ? 0 : windDownSeconds;
    }
}
