package dev.zdt.operator.reconcile;

import jakarta.inject.Singleton;

import org.eclipse.microprofile.config.inject.ConfigProperty;

import io.javaoperatorsdk.operator.api.config.LeaderElectionConfiguration;

/**
 * One replica reconciles, through a Lease in the operator's namespace; the others wait to take
 * over. The drain gate does not depend on it: every replica serves holds from its own informers.
 * QOSDK activates it in the prod profile only, so dev mode and tests run without a Lease.
 */
@Singleton
public class LeaderElection extends LeaderElectionConfiguration {

    public LeaderElection(@ConfigProperty(name = "zdt.leader-election.lease-name") String leaseName) {
        super(leaseName);
    }
}
