package dev.zdt.operator.budget;

import java.util.ArrayList;
import java.util.List;

import dev.zdt.operator.api.InvalidSpecException;
import dev.zdt.operator.api.v1alpha1.ProbeSpec;
import dev.zdt.operator.api.v1alpha1.TrafficSpec;

/**
 * How fast each kind of front end picks up endpoint changes, with the provider's documented
 * defaults. Each profile yields the terms of the propagation time (endpoint removed until the
 * front end stops sending) and of the warm-in time (new pod ready until the front end sends).
 */
final class ProviderProfile {

    // Traefik: providers.providersThrottleDuration defaults to 2s (Traefik static configuration reference).
    static final int TRAEFIK_THROTTLE = 2;
    // ingress-nginx: --sync-rate-limit defaults to 0.3 syncs/s, i.e. one every ~3.3s (controller flags doc).
    static final int NGINX_SYNC = 4;
    // HAProxy Kubernetes Ingress Controller: --sync-period defaults to 5s (controller arguments doc).
    static final int HAPROXY_SYNC = 5;
    // Envoy under an xDS control plane: Contour v1.33 sends EndpointSlice changes to Envoy as EDS
    // straight away (cmd/contour/serve.go: endpoints bypass the DAG rebuild) and batches other
    // changes with a 100 ms holdoff up to 500 ms; 1 s covers that batch and the xDS push.
    static final int ENVOY_XDS = 1;
    // AWS target groups: deregistration_delay.timeout_seconds defaults to 300 (ELB target group attributes doc).
    static final int ALB_DEREGISTRATION_DELAY = 300;
    // AWS Load Balancer Controller health check annotations: interval 15s, timeout 5s, healthy 2, unhealthy 2.
    static final Probe ALB_PROBE = new Probe(15, 5, 2, 2);
    // Google Cloud health checks: check interval 5s, timeout 5s, healthy 2, unhealthy 2 (health check concepts doc).
    static final Probe GCE_PROBE = new Probe(5, 5, 2, 2);
    // Azure Application Gateway custom probe: interval 30s, timeout 30s, unhealthy threshold 3; one success marks healthy.
    static final Probe AZURE_PROBE = new Probe(30, 30, 1, 3);
    // A load balancer probing every 5s with a 4s timeout, 3 failures out / 2 successes in: the setup
    // practitioners report "15-20 s" of errors for.
    static final Probe HEALTH_PROBE = new Probe(5, 4, 2, 3);

    record Probe(int interval, int timeout, int healthy, int unhealthy) {
    }

    /** One named, possibly defaulted, term of a sum. */
    record Term(String name, int seconds, boolean defaulted) {
        @Override
        public String toString() {
            return name + " " + seconds + "s" + (defaulted ? " default" : "");
        }
    }

    private ProviderProfile() {
    }

    static List<Term> propagation(TrafficSpec t) {
        List<Term> terms = new ArrayList<>();
        switch (t.getProvider()) {
            case TRAEFIK -> {
                terms.add(knob("traefik throttle", t.getThrottleSeconds(), TRAEFIK_THROTTLE));
                terms.add(watch(t));
            }
            case INGRESS_NGINX -> {
                terms.add(knob("ingress-nginx sync", t.getSyncSeconds(), NGINX_SYNC));
                terms.add(watch(t));
            }
            case HAPROXY -> {
                terms.add(knob("haproxy sync", t.getSyncSeconds(), HAPROXY_SYNC));
                terms.add(watch(t));
            }
            case ENVOY -> {
                terms.add(new Term("envoy xDS push", ENVOY_XDS, true));
                terms.add(watch(t));
            }
            case AWS_ALB -> {
                terms.add(watch(t));
                terms.add(knob("alb deregistration delay", t.getDeregistrationDelaySeconds(), ALB_DEREGISTRATION_DELAY));
            }
            case GCE -> {
                terms.add(watch(t));
                terms.addAll(probeOut(t.getProbe(), GCE_PROBE));
            }
            case AZURE_APPLICATION_GATEWAY -> {
                terms.add(watch(t));
                terms.addAll(probeOut(t.getProbe(), AZURE_PROBE));
            }
            // A load balancer that only polls the pods' health endpoint does not watch the API.
            case HEALTH_PROBE -> terms.addAll(probeOut(t.getProbe(), HEALTH_PROBE));
            case GENERIC -> {
                // Refused by the CRD's CEL rule; checked again for specs that bypass validation.
                if (t.getPropagationSeconds() == null) {
                    throw new InvalidSpecException(
                            "provider generic needs traffic.propagationSeconds");
                }
                terms.add(new Term("generic propagation", t.getPropagationSeconds(), false));
            }
        }
        return terms;
    }

    /**
     * Controllers that watch EndpointSlices (traefik, ingress-nginx, haproxy, envoy's control plane) apply an added and a
     * removed endpoint in order, within one propagation time; the hold keeps the old pod serving
     * until then, so the new pod takes traffic before the old one leaves: no warm-in needed.
     * Probing load balancers admit a new target only after `healthy` passed checks.
     */
    static List<Term> warmIn(TrafficSpec t) {
        List<Term> terms = new ArrayList<>();
        switch (t.getProvider()) {
            case TRAEFIK, INGRESS_NGINX, HAPROXY, ENVOY -> terms.add(new Term(t.getProvider().value()
                    + " adds new endpoints before the held old ones leave:", 0, false));
            case GENERIC -> terms.addAll(propagation(t));
            case AWS_ALB -> {
                terms.add(watch(t));
                terms.add(probeIn(t.getProbe(), ALB_PROBE));
            }
            case GCE -> {
                terms.add(watch(t));
                terms.add(probeIn(t.getProbe(), GCE_PROBE));
            }
            case AZURE_APPLICATION_GATEWAY -> {
                terms.add(watch(t));
                terms.add(probeIn(t.getProbe(), AZURE_PROBE));
            }
            case HEALTH_PROBE -> terms.add(probeIn(t.getProbe(), HEALTH_PROBE));
        }
        return terms;
    }

    private static Term watch(TrafficSpec t) {
        return knob("watch", t.getWatchSeconds(), 2);
    }

    private static Term knob(String name, Integer value, int providerDefault) {
        return value != null ? new Term(name, value, false) : new Term(name, providerDefault, true);
    }

    // Worst case out: the last good check passed just before removal, then `unhealthy` checks fail,
    // the last of them only after its timeout.
    private static List<Term> probeOut(ProbeSpec p, Probe d) {
        Term interval = knob("interval", p == null ? null : p.getIntervalSeconds(), d.interval());
        Term unhealthy = knob("x", p == null ? null : p.getUnhealthyThreshold(), d.unhealthy());
        Term timeout = knob("probe timeout", p == null ? null : p.getTimeoutSeconds(), d.timeout());
        boolean defaulted = interval.defaulted() || unhealthy.defaulted();
        String name = "probe " + interval.seconds() + "s x " + unhealthy.seconds() + " unhealthy";
        return List.of(new Term(name, interval.seconds() * unhealthy.seconds(), defaulted), timeout);
    }

    private static Term probeIn(ProbeSpec p, Probe d) {
        Term interval = knob("interval", p == null ? null : p.getIntervalSeconds(), d.interval());
        Term healthy = knob("x", p == null ? null : p.getHealthyThreshold(), d.healthy());
        String name = "probe " + interval.seconds() + "s x " + healthy.seconds() + " healthy";
        return new Term(name, interval.seconds() * healthy.seconds(), interval.defaulted() || healthy.defaulted());
    }
}
