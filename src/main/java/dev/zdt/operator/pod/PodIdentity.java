package dev.zdt.operator.pod;

import java.util.ArrayList;
import java.util.List;

import dev.zdt.operator.api.InvalidSpecException;
import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.ContainerBuilder;
import io.fabric8.kubernetes.api.model.Volume;
import io.fabric8.kubernetes.api.model.VolumeBuilder;
import io.fabric8.kubernetes.api.model.VolumeMount;
import io.fabric8.kubernetes.api.model.VolumeMountBuilder;

/**
 * How a pod proves to the gate who it is: a projected ServiceAccount token with the gate's own
 * audience, mounted read-only into the serving container only (where the drain helper or the exec
 * script reads it). The kubelet issues it bound to the pod (its name and uid are in the token), for
 * {@link #EXPIRATION_SECONDS}, and renews it before it expires. The gate checks it with a
 * TokenReview ({@code gate/PodTokens}). Nothing secret is in the pod spec, a Secret or a webhook reply:
 * the token exists only in the pod's own volume. Pure: no client.
 */
public final class PodIdentity {

    /** The audience the gate asks the API server to check: a token for the API server itself is refused. */
    public static final String AUDIENCE = "zdt.dev/gate";
    public static final String VOLUME = "zdt-identity";
    public static final String MOUNT_PATH = "/.zdt-identity";
    public static final String FILE = "token";
    public static final String TOKEN_FILE = MOUNT_PATH + "/" + FILE;
    /** The shortest lifetime the API server issues; the kubelet renews the file at 80% of it. */
    public static final long EXPIRATION_SECONDS = 600;

    private PodIdentity() {
    }

    public static Volume volume() {
        return new VolumeBuilder().withName(VOLUME).withNewProjected()
                .addNewSource().withNewServiceAccountToken()
                    .withAudience(AUDIENCE).withExpirationSeconds(EXPIRATION_SECONDS).withPath(FILE)
                .endServiceAccountToken().endSource()
                .endProjected().build();
    }

    /** The container with the token's volume mounted read-only at {@link #MOUNT_PATH}. */
    public static Container mounted(Container container) {
        List<VolumeMount> mounts = new ArrayList<>();
        if (container.getVolumeMounts() != null) {
            for (VolumeMount m : container.getVolumeMounts()) {
                if (MOUNT_PATH.equals(m.getMountPath()) || VOLUME.equals(m.getName())) {
                    throw new InvalidSpecException("container '" + container.getName() + "' already mounts "
                            + MOUNT_PATH + " or a volume named " + VOLUME
                            + ", which the drain gate needs for the pod's identity token");
                }
                mounts.add(m);
            }
        }
        mounts.add(new VolumeMountBuilder().withName(VOLUME).withMountPath(MOUNT_PATH).withReadOnly(true).build());
        return new ContainerBuilder(container).withVolumeMounts(mounts).build();
    }

    /**
     * The ServiceAccount the pod runs as, spelled out: the API server refuses a projected token
     * volume in a pod that names none, and the ServiceAccount admission plugin (which sets
     * "default" in most clusters) may not run first, or at all. Nothing changes for a pod that
     * names one (or only the deprecated {@code serviceAccount}, which means the same).
     */
    public static String serviceAccount(io.fabric8.kubernetes.api.model.PodSpec spec) {
        if (spec.getServiceAccountName() != null && !spec.getServiceAccountName().isEmpty()) {
            return spec.getServiceAccountName();
        }
        return spec.getServiceAccount() != null && !spec.getServiceAccount().isEmpty() ? spec.getServiceAccount() : "default";
    }

    /** The volumes with the token's volume added; a template that already has one by that name is refused. */
    public static List<Volume> withVolume(List<Volume> volumes) {
        List<Volume> all = new ArrayList<>(volumes == null ? List.of() : volumes);
        if (all.stream().anyMatch(v -> VOLUME.equals(v.getName()))) {
            throw new InvalidSpecException("the pod already has a volume '" + VOLUME
                    + "', a name the drain gate needs for the pod's identity token");
        }
        all.add(volume());
        return all;
    }
}
