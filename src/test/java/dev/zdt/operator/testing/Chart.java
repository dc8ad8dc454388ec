package dev.zdt.operator.testing;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.client.utils.Serialization;

/** The chart as `helm template` renders it, with the helm that e2e/cluster builds (never downloaded by a test). */
public final class Chart {

    public static final Path DIR = Path.of(System.getProperty("zdt.project.dir", "."), "deploy/helm/zdt-operator");

    private Chart() {
    }

    /** Runs the cached helm; fails with its output unless it exits 0. */
    public static String helm(String... args) throws IOException, InterruptedException {
        List<String> command = new ArrayList<>(List.of(binary().toString()));
        command.addAll(List.of(args));
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes());
        if (!p.waitFor(60, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new AssertionError("helm " + String.join(" ", args) + " did not finish within 60 s");
        }
        if (p.exitValue() != 0) {
            throw new AssertionError("helm " + String.join(" ", args) + " exited " + p.exitValue() + ":\n" + out);
        }
        return out;
    }

    /** `helm template zdt <chart> --namespace zdt-system` plus the given flags (e.g. "--set", "a=b"), as objects. */
    public static List<HasMetadata> render(String... flags) throws IOException, InterruptedException {
        List<String> args = new ArrayList<>(List.of("template", "zdt", DIR.toString(), "--namespace", "zdt-system"));
        args.addAll(List.of(flags));
        String yaml = helm(args.toArray(String[]::new));
        List<HasMetadata> objects = new ArrayList<>();
        for (String doc : yaml.split("(?m)^---\\s*$")) {
            if (doc.lines().anyMatch(l -> l.startsWith("kind:"))) {
                objects.add(Serialization.unmarshal(doc, HasMetadata.class));
            }
        }
        return objects;
    }

    /** The objects of one type, in the order rendered. */
    public static <T extends HasMetadata> List<T> all(List<HasMetadata> objects, Class<T> type) {
        return objects.stream().filter(type::isInstance).map(type::cast).toList();
    }

    /** The one object of that type and name; fails when there is none. */
    public static <T extends HasMetadata> T one(List<HasMetadata> objects, Class<T> type, String name) {
        return all(objects, type).stream().filter(o -> name.equals(o.getMetadata().getName())).findFirst()
                .orElseThrow(() -> new AssertionError("no " + type.getSimpleName() + " " + name + " rendered; rendered: "
                        + objects.stream().map(o -> o.getKind() + "/" + o.getMetadata().getName()).toList()));
    }

    private static Path binary() throws IOException {
        Path bin = Path.of(System.getProperty("zdt.cache.dir", System.getProperty("user.home") + "/.cache/zdt"), "bin");
        try (Stream<Path> dirs = Files.list(bin)) {
            return dirs.filter(d -> d.getFileName().toString().startsWith("helm-")).map(d -> d.resolve("helm"))
                    .filter(Files::isExecutable).findFirst()
                    .orElseThrow(() -> new AssertionError("no helm under " + bin + ": run `e2e/cluster/zdt-cluster build all`"));
        }
    }
}
