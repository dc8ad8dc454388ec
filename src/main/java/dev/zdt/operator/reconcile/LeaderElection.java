package dev.zdt.operator.reconcile;

import java.time.Duration;

import jakarta.inject.Singleton;

import org.eclipse.microprofile.config.inject.ConfigProperty;
import org.jboss.logging.Logger;

import dev.zdt.operator.Stopping;

import io.fabric8.kubernetes.client.extended.leaderelection.LeaderCallbacks;
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
 * the kubelet kills the pod (seen: a stopped leader hung for its whole grace period, cutting the
 * gate calls it still held). Here a lost lease exits through Quarkus (a graceful stop: the gate calls
 * this replica holds are still answered), and a shutdown just goes on.
 *
 * <p>The lease is long (60 s, renewed within 50 s) rather than JOSDK's 15/10 s: a leader that cannot
 * reach the API server gives its lease up after the renew deadline and exits, and while it
 * restarts its share of the gate Service's preStop calls is refused (measured in the API-server
 * restart drill: 42 s without an API server cost a restart and 693 failed requests). The price is
 * a slower takeover after a leader crash, which delays reconciling, never a drain.
 */
@Singleton
public class LeaderElection extends LeaderElectionConfiguration {

    private static final Logger LOG = Logger.getLogger(LeaderElection.class);

    public LeaderElection(@ConfigProperty(name = "zdt.leader-election.lease-name") String leaseName,
            @ConfigProperty(name = "zdt.leader-election.lease-duration", defaultValue = "60s") Duration leaseDuration,
            @ConfigProperty(name = "zdt.leader-election.renew-deadline", defaultValue = "50s") Duration renewDeadline,
            @ConfigProperty(name = "zdt.leader-election.retry-period", defaultValue = "5s") Duration retryPeriod) {
        super(leaseName, null, leaseDuration, renewDeadline, retryPeriod,
                null, new LeaderCallbacks(() -> { }, LeaderElection::stoppedLeading, leader -> { }), false);
    }

    private static void stoppedLeading() {
        if (Stopping.now()) {
            return; // the lease was given up because this replica stops: nothing more to do
        }
        LOG.error("lost the leader lease while running; exiting so that only the new leader reconciles");
        Quarkus.asyncExit(1);
    }
}
