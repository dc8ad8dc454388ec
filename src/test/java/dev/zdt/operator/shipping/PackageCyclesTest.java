package dev.zdt.operator.shipping;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import org.junit.jupiter.api.Test;

/**
 * The operator's packages depend on each other in one direction only: a change in a lower package
 * never needs one in a package that uses it to be understood. Read from the sources' imports.
 */
class PackageCyclesTest {

    private static final Path SOURCES = Path.of("src/main/java/dev/zdt/operator");
    private static final Pattern IMPORT = Pattern.compile("^import (?:static )?dev\\.zdt\\.operator\\.([a-z]+)\\.",
            Pattern.MULTILINE);

    static Map<String, Set<String>> dependencies() throws IOException {
        Map<String, Set<String>> deps = new TreeMap<>();
        try (Stream<Path> files = Files.walk(SOURCES)) {
            for (Path f : files.filter(p -> p.toString().endsWith(".java")).toList()) {
                Path dir = SOURCES.relativize(f.getParent());
                if (dir.getNameCount() == 0 || dir.toString().isEmpty()) {
                    continue; // the root package (Constants, ...) imports none of the others
                }
                String pkg = dir.getName(0).toString();
                Set<String> uses = deps.computeIfAbsent(pkg, k -> new TreeSet<>());
                Matcher m = IMPORT.matcher(Files.readString(f));
                while (m.find()) {
                    if (!m.group(1).equals(pkg)) {
                        uses.add(m.group(1));
                    }
                }
            }
        }
        return deps;
    }

    /** A cycle through the packages, as the list of its packages, or empty. */
    static List<String> cycle(Map<String, Set<String>> deps) {
        Map<String, Integer> state = new TreeMap<>();
        List<String> path = new ArrayList<>();
        for (String p : new TreeSet<>(deps.keySet())) {
            List<String> found = visit(p, deps, state, path);
            if (!found.isEmpty()) {
                return found;
            }
        }
        return List.of();
    }

    private static List<String> visit(String p, Map<String, Set<String>> deps, Map<String, Integer> state,
            List<String> path) {
        Integer s = state.get(p);
        if (s != null && s == 2) {
            return List.of();
        }
        if (s != null && s == 1) {
            List<String> c = new ArrayList<>(path.subList(path.indexOf(p), path.size()));
            c.add(p);
            return c;
        }
        state.put(p, 1);
        path.add(p);
        for (String q : new TreeSet<>(deps.getOrDefault(p, Set.of()))) {
            List<String> found = visit(q, deps, state, path);
            if (!found.isEmpty()) {
                return found;
            }
        }
        path.remove(path.size() - 1);
        state.put(p, 2);
        return List.of();
    }

    @Test
    void thePackagesFormNoCycle() throws IOException {
        Map<String, Set<String>> deps = dependencies();
        assertThat(deps).containsKeys("gate", "reconcile", "policy", "kube");
        assertThat(cycle(deps)).as("package dependencies %s", deps).isEmpty();
    }

    /**
     * One home per concern: the gate server ({@code gate}) is imported by no other package. What the
     * others share with it lives beside it: the informers in {@code watch}, what a pod is given and
     * how it calls the gate in {@code pod}, the gate's settings at the root.
     */
    @Test
    void theGateServerIsImportedByNoOtherPackage() throws IOException {
        Map<String, Set<String>> deps = dependencies();
        assertThat(deps).containsKeys("gate", "watch", "pod");
        deps.forEach((pkg, uses) -> assertThat(uses).as("package %s imports", pkg).doesNotContain("gate"));
        assertThat(deps.get("pod")).as("the pod-side contract stands on its own").doesNotContain("watch", "reconcile",
                "policy", "warmin", "ingress");
        assertThat(deps.get("watch")).as("the shared informers need none of the users").doesNotContain("pod",
                "reconcile", "policy", "warmin", "ingress");
    }

    @Test
    void theCycleCheckFindsACycle() {
        assertThat(cycle(Map.of("gate", Set.of("kube"), "reconcile", Set.of("gate"), "kube", Set.of("reconcile"))))
                .containsExactly("gate", "kube", "reconcile", "gate");
        assertThat(cycle(Map.of("a", Set.of("b"), "b", Set.of()))).isEmpty();
    }
}
