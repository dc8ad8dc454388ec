package dev.zdt.operator.reconcile;

import java.time.Duration;
import java.time.ZonedDateTime;
import java.time.temporal.ChronoUnit;

import jakarta.inject.Singleton;

import org.eclipse.microprofile.config.inject.ConfigProperty;
import org.jboss.logging.Logger;

import dev.zdt.operator.Stopping;

import io.fabric8.kubernetes.api.model.coordination.v1.Lease;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.fabric8.kubernetes.client.extended.leaderelection.LeaderCallbacks;
import io.quarkus.arc.Arc;
import io.javaoperatorsdk.operator.api.config.LeaderElectionConfiguration;
import io.quarkus.runtime.Quarkus;

/**
 * One replica reconciles, through a Lease in the operator's namespace; the others wait to take
 * over. The drain gate does not depend on it: every replica serves holds from its own informers.
 * QOSDK activates it in the prod profile only, so dev mode and tests run without a Lease.
 *
 * <p>Losing the lease while running ends the process, so that two replicas never reconcile at
 * once; JOSDK's own exit-on-stop is off because it calls {@code System.exit} also when the lease is
 * given up during a normal shutdown, from inside the JVM's shutdown, where that call blocks until
 * the kubelet kills the pod: a stopped leader would hang for its whole grace period and cut the
 * gate calls it still holds. Here a lost lease exits through Quarkus (a graceful stop: the gate calls
 * this replica holds are still answered), and a shutdown just goes on.
 *
 * <p>The lease is long (60 s, renewed within 50 s) rather than JOSDK's 15/10 s: a leader that cannot
 * reach the API server gives its lease up after the renew deadline and exits, and while it
 * restarts its share of the gate Service's preStop calls is refused; a lease longer than an
 * API-server restart keeps that outage from turning into an operator restart. The price is
 * a slower takeover after a leader crash, which delays reconciling, never a drain.
 *
 * <p>A leader that stops gracefully (an upgrade, a scale-down, a node drain) gives its lease back:
 * JOSDK stops renewing but leaves the Lease held for its full duration, so the next leader would
 * wait up to 60 s before reconciling again. Here the stopping leader marks the Lease free (no holder,
 * a 1 s duration), guarded by its resourceVersion, and only while it still names this replica.
 */
@Singleton
public class LeaderElection extends LeaderElectionConfiguration {

    private static final Logger LOG = Logger.getLogger(LeaderElection.class);

    public LeaderElection(@ConfigProperty(name = "zdt.leader-election.lease-name") String leaseName,
            @ConfigProperty(name = "zdt.leader-election.lease-duration", defaultValue = "60s") Duration leaseDuration,
            @ConfigProperty(name = "zdt.leader-election.renew-deadline", defaultValue = "50s") Duration renewDeadline,
            @ConfigProperty(name = "zdt.leader-election.retry-period", defaultValue = "5s") Duration retryPeriod) {
        super(leaseName, null, leaseDuration, renewDeadline, retryPeriod, IDENTITY,
                new LeaderCallbacks(() -> { }, () -> stoppedLeading(leaseName), leader -> { }), false);
    }

    /**
     * The Lease's name for this process: the pod's name (the chart sets POD_NAME; HOSTNAME is the
     * same in a pod), then {@code _} and a random suffix. Per process, not per pod: a container the
     * kubelet restarts after a crash is a new candidate that waits for the dead process's Lease to
     * run out like any other replica, instead of renewing it at once as if it were still the one
     * that held it. Pod names cannot contain {@code _}, so scripts find the pod before it.
     */
    static final String IDENTITY = identity(System.getenv().getOrDefault("POD_NAME", System.getenv("HOSTNAME")));

    static String identity(String pod) {
        return (pod == null ? "zdt-operator" : pod) + "_"
                + java.util.HexFormat.of().formatHex(java.nio.ByteBuffer.allocate(4)
                        .putInt(new java.security.SecureRandom().nextInt()).array());
    }

    private static void stoppedLeading(String leaseName) {
        if (Stopping.now()) {
            // The lease ends because this replica stops: hand it over now rather than after its duration.
            String namespace = System.getenv("POD_NAMESPACE");
            if (namespace != null && IDENTITY != null) {
                release(Arc.container().instance(KubernetesClient.class).get(), namespace, leaseName, IDENTITY);
            }
            return;
        }
        LOG.error("lost the leader lease while running; exiting so that only the new leader reconciles");
        Quarkus.asyncExit(1);
    }

    /**
     * Marks the Lease free if {@code identity} still holds it: no holder, a 1 s duration from now,
     * so that a waiting replica takes over on its next try. Returns whether it did; a Lease taken
     * meanwhile, or any error, leaves it as it is (the lease then simply runs out).
     */
    static boolean release(KubernetesClient client, String namespace, String leaseName, String identity) {
        try {
            Lease lease = client.leases().inNamespace(namespace).withName(leaseName).get();
            if (lease == null || lease.getSpec() == null || !identity.equals(lease.getSpec().getHolderIdentity())) {
                return false;
            }
            lease.getSpec().setHolderIdentity(null);
            lease.getSpec().setLeaseDurationSeconds(1);
            lease.getSpec().setRenewTime(ZonedDateTime.now().truncatedTo(ChronoUnit.MICROS));
            // Replaced with the resourceVersion read above: a renewal or takeover in between wins.
            client.leases().inNamespace(namespace).resource(lease).update();
            LOG.infof("gave the leader lease %s/%s back on shutdown", namespace, leaseName);
            return true;
        } catch (KubernetesClientException | IllegalStateException e) {
            // A conflict (renewed or taken meanwhile), or the client already closing at shutdown.
            LOG.warnf("could not give the leader lease %s/%s back (%s); it runs out on its own", namespace, leaseName,
                    e.getMessage());
            return false;
        }
    }
}
