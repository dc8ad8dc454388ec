package dev.zdt.operator.api.v1alpha1;

import java.util.List;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import io.fabric8.generator.annotation.Default;
import io.fabric8.generator.annotation.Pattern;
import io.fabric8.generator.annotation.Size;
import io.fabric8.generator.annotation.Required;
import io.fabric8.kubernetes.api.model.HTTPHeader;
import io.fabric8.kubernetes.api.model.IntOrString;

/** The HTTP GET that tells the app to end its streams, sent to the pod's own address. */
@JsonInclude(JsonInclude.Include.NON_NULL)
public class StreamSignal {

    @JsonPropertyDescription("Path of the GET, e.g. /drain-streams.")
    @Default("/")
    @Pattern("^/[^\\s]*$")
    private String path = "/";

    @JsonPropertyDescription("The serving container's port, by name (a name the container declares) or number.")
    @Required
    private IntOrString port;

    @JsonPropertyDescription("Headers to send, e.g. a token the app checks before it ends its streams. Written into the pod's preStop command: visible to whoever may read the pod.")
    @Size(max = 16)
    private List<HTTPHeader> httpHeaders;

    public String getPath() { return path; }
    public void setPath(String path) { this.path = path; }
    public IntOrString getPort() { return port; }
    public void setPort(IntOrString port) { this.port = port; }
    public List<HTTPHeader> getHttpHeaders() { return httpHeaders; }
    public void setHttpHeaders(List<HTTPHeader> httpHeaders) { this.httpHeaders = httpHeaders; }
}
