package dev.zdt.operator.kube;

import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.concurrent.atomic.AtomicLong;

import jakarta.enterprise.context.ApplicationScoped;

import org.jboss.logging.Logger;

import dev.zdt.operator.Constants;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.ObjectReferenceBuilder;
import io.fabric8.kubernetes.api.model.events.v1.EventBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;

/** Kubernetes Events on a ZeroDowntimeApp, as `kubectl describe` shows them. */
@ApplicationScoped
public class EventRecorder {

    private static final Logger LOG = Logger.getLogger(EventRecorder.class);
    private static final int MAX_NOTE = 1024;
    private static final AtomicLong SEQUENCE = new AtomicLong(System.currentTimeMillis() * 1000);

    private final KubernetesClient client;

    public EventRecorder(KubernetesClient client) {
        this.client = client;
    }

    /** @return whether the API server took the event; a failure is logged, never thrown */
    public boolean warning(HasMetadata regarding, String reason, String note) {
        return record(regarding, "Warning", reason, note);
    }

    /** @return whether the API server took the event; a failure is logged, never thrown */
    public boolean normal(HasMetadata regarding, String reason, String note) {
        return record(regarding, "Normal", reason, note);
    }

    private boolean record(HasMetadata regarding, String type, String reason, String note) {
        String text = note.length() > MAX_NOTE ? note.substring(0, MAX_NOTE - 3) + "..." : note;
        try {
            client.resource(new EventBuilder()
                    .withNewMetadata()
                        // name.<hex>, as kubectl's recorder names events
                        .withName(regarding.getMetadata().getName() + "." + Long.toHexString(SEQUENCE.incrementAndGet()))
                        .withNamespace(regarding.getMetadata().getNamespace())
                    .endMetadata()
                    .withEventTime(new io.fabric8.kubernetes.api.model.MicroTime(
                            Instant.now().truncatedTo(ChronoUnit.MICROS).toString()))
                    .withReportingController("zdt.dev/" + Constants.OPERATOR_NAME)
                    .withReportingInstance(System.getenv().getOrDefault("POD_NAME", Constants.OPERATOR_NAME))
                    .withAction(reason)
                    .withReason(reason)
                    .withType(type)
                    .withNote(text)
                    .withRegarding(new ObjectReferenceBuilder()
                            .withApiVersion(regarding.getApiVersion())
                            .withKind(regarding.getKind())
                            .withName(regarding.getMetadata().getName())
                            .withNamespace(regarding.getMetadata().getNamespace())
                            .withUid(regarding.getMetadata().getUid())
                            .build())
                    .build()).create();
            return true;
        } catch (KubernetesClientException e) {
            // An event is a courtesy; failing to write one must not fail a reconcile or a drain.
            LOG.warnf("could not record event %s on %s/%s: %s", reason, regarding.getMetadata().getNamespace(),
                    regarding.getMetadata().getName(), e.getMessage());
            return false;
        }
    }
}
