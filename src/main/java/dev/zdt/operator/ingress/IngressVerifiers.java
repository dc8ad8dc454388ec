package dev.zdt.operator.ingress;

import java.util.List;
import java.util.Optional;

import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.inject.Instance;

import dev.zdt.operator.api.v1alpha1.Provider;

/** The verifier for an app's provider, among the ones this operator has. */
@ApplicationScoped
public class IngressVerifiers {

    private final List<IngressVerifier> all;

    public IngressVerifiers(Instance<IngressVerifier> verifiers) {
        this.all = verifiers.stream().toList();
    }

    public Optional<IngressVerifier> forProvider(Provider provider) {
        return all.stream().filter(v -> v.supports(provider)).findFirst();
    }
}
