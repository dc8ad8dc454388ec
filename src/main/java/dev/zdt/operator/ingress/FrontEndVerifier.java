package dev.zdt.operator.ingress;

import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;

import jakarta.annotation.PreDestroy;

import dev.zdt.operator.api.v1alpha1.Provider;
import dev.zdt.operator.api.v1alpha1.ZeroDowntimeApp;
import dev.zdt.operator.ingress.FrontEndApi.Hints;

/**
 * What every verifier shares: the provider it answers for, its name in messages, and the
 * {@link FrontEndApi} that finds the front end's replicas and asks them. A subclass only says how
 * to ask one replica and how to read its answer. Subclasses are {@code @Singleton} beans: a
 * client proxy would need a no-argument constructor, and these hold final state from injection.
 */
abstract class FrontEndVerifier implements IngressVerifier {

    protected final FrontEndApi api;
    private final Provider provider;
    private final String name;

    FrontEndVerifier(Provider provider, String name, FrontEndApi api) {
        this.provider = provider;
        this.name = name;
        this.api = api;
    }

    @PreDestroy
    void stop() {
        api.stop();
    }

    /** Every replica of the app's front end is asked the same question; {@link FrontEndApi} combines the answers. */
    @Override
    public final CompletionStage<IngressObservation> observe(ZeroDowntimeApp app, Set<String> addresses) {
        Hints hints = Hints.of(app);
        return api.observe(app, replica -> ask(replica, addresses, hints));
    }

    /**
     * Asks one replica which of the addresses it still routes to. The hints name the app, for a front
     * end whose API can narrow its answer to it; one that cannot ignores them.
     */
    abstract CompletableFuture<ReplicaAnswer> ask(ControllerReplicas.Replica replica, Set<String> addresses, Hints hints);

    @Override
    public final boolean supports(Provider p) {
        return p == provider;
    }

    @Override
    public final String name() {
        return name;
    }
}
