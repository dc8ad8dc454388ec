package dev.zdt.operator.testing;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.reflect.Field;
import java.lang.reflect.Modifier;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

/**
 * The table "Who writes the status" of docs/design.md, read as the tests' single source of who
 * owns which status field: a writer that sends a field the table gives to another fails its test.
 */
public final class StatusOwners {

    public static final String APP = "ZeroDowntimeApp";
    public static final String POLICY = "DrainPolicy";
    private static final Path DESIGN = Path.of("docs/design.md");
    /** A row: resource, field in backquotes, writer whose first backquoted name is a/Class. */
    private static final Pattern ROW = Pattern.compile("^\\| (\\w+) \\| `(\\w+)` \\| `\\w+/(\\w+)`[^|]*\\|[^|]+\\|\\s*$");

    /** resource -> field -> writer's class name. */
    private final TreeMap<String, TreeMap<String, String>> owners = new TreeMap<>();

    private StatusOwners(String markdown) {
        for (String line : markdown.split("\n")) {
            Matcher m = ROW.matcher(line);
            if (m.matches()) {
                String previous = owners.computeIfAbsent(m.group(1), r -> new TreeMap<>()).put(m.group(2), m.group(3));
                if (previous != null) {
                    throw new IllegalStateException(DESIGN + " lists " + m.group(1) + " status." + m.group(2)
                            + " twice: one field, one writer");
                }
            }
        }
    }

    public static StatusOwners documented() {
        try {
            return new StatusOwners(Files.readString(DESIGN));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** resource -> field -> writer, as documented. */
    public TreeMap<String, TreeMap<String, String>> table() {
        return owners;
    }

    /** The fields of {@code resource}'s status the writer owns. */
    public Set<String> ownedBy(String resource, String writer) {
        return owners.getOrDefault(resource, new TreeMap<>()).entrySet().stream()
                .filter(e -> e.getValue().equals(writer)).map(e -> e.getKey())
                .collect(Collectors.toCollection(TreeSet::new));
    }

    /** The JSON fields of a status class (its instance fields: none is renamed). */
    public static Set<String> fieldsOf(Class<?> status) {
        return Arrays.stream(status.getDeclaredFields()).filter(f -> !Modifier.isStatic(f.getModifiers()))
                .map(Field::getName).collect(Collectors.toCollection(TreeSet::new));
    }
}
