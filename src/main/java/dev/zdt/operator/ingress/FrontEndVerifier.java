package dev.zdt.operator.ingress;

import jakarta.annotation.PreDestroy;

import dev.zdt.operator.api.v1alpha1.Provider;

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

    @Override
    public final boolean supports(Provider p) {
        return p == provider;
    }

    @Override
    public final String name() {
        return name;
    }
}
