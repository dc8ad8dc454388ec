package dev.zdt.operator.reconcile;

import java.util.concurrent.atomic.AtomicBoolean;

import jakarta.inject.Singleton;

import org.eclipse.microprofile.config.inject.ConfigProperty;
import org.jboss.logging.Logger;

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
 * gate calls it still held). Here a lost lease exits through Quarkus, and a shutdown just goes on.
 */
@Singleton
public class LeaderElection extends LeaderElectionConfiguration {

    private static final Logger LOG = Logger.getLogger(LeaderElection.class);
    private static final AtomicBoolean STOPPING = new AtomicBoolean();

    static {
        Runtime.getRuntime().addShutdownHook(new Thread(() -> STOPPING.set(true), "zdt-leader-election-stop"));
    }

    public LeaderElection(@ConfigProperty(name = "zdt.leader-election.lease-name") String leaseName) {
        super(leaseName, null, LEASE_DURATION_DEFAULT_VALUE, RENEW_DEADLINE_DEFAULT_VALUE, RETRY_PERIOD_DEFAULT_VALUE,
                null, new LeaderCallbacks(() -> { }, LeaderElection::stoppedLeading, leader -> { }), false);
    }

    private static void stoppedLeading() {
        if (STOPPING.get()) {
            return; // the lease was given up because this replica stops: nothing more to do
        }
        LOG.error("lost the leader lease while running; exiting so that only the new leader reconciles");
        Quarkus.asyncExit(1);
    }
}
