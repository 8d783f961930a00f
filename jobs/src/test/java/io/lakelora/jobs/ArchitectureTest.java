package io.lakelora.jobs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.UncheckedIOException;
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
 * The package layers of docs/architecture.md, enforced: every {@code import} and fully qualified
 * {@code io.lakelora...} name in the main sources of pipeline, udfs and jobs goes to a strictly lower layer.
 */
class ArchitectureTest {
    static final Path ROOT = Path.of("..").toAbsolutePath().normalize();
    static final List<Path> SOURCES = List.of(
            ROOT.resolve("pipeline/src/main/java"),
            ROOT.resolve("udfs/src/main/java"),
            ROOT.resolve("jobs/src/main/java"));
    static final String PREFIX = "io.lakelora.";

    /** Package (without {@code io.lakelora.}) -> layer, from the table in docs/architecture.md. */
    static Map<String, Integer> documentedLayers() throws IOException {
        Map<String, Integer> layers = new TreeMap<>();
        Pattern row = Pattern.compile("^\\| (\\d+) \\| ([^|]+) \\|");
        for (String line : Files.readAllLines(ROOT.resolve("docs/architecture.md"))) {
            Matcher m = row.matcher(line);
            if (!m.find()) continue;
            Matcher p = Pattern.compile("`([a-z][a-z0-9.]*)`").matcher(m.group(2));
            while (p.find()) {
                Integer old = layers.put(p.group(1), Integer.parseInt(m.group(1)));
                assertEquals(null, old, "package " + p.group(1) + " is listed twice in docs/architecture.md");
            }
        }
        return layers;
    }

    /** A source file's package and the project packages it names (imports and qualified names, comments removed). */
    record Source(String file, String pkg, Set<String> uses) {}

    /** The project's Java classes by fully qualified name -> package, and every source file's uses. */
    static List<Source> scan(List<Path> roots) throws IOException {
        Map<String, String> classes = new TreeMap<>();
        Map<Path, String> texts = new TreeMap<>();
        for (Path root : roots) {
            try (Stream<Path> s = Files.walk(root)) {
                for (Path f : s.filter(x -> x.toString().endsWith(".java")).toList()) {
                    String text = stripComments(Files.readString(f));
                    Matcher m =
                            Pattern.compile("(?m)^package\\s+([\\w.]+)\\s*;").matcher(text);
                    if (!m.find()) continue;
                    String name = f.getFileName().toString().replace(".java", "");
                    classes.put(m.group(1) + "." + name, m.group(1));
                    texts.put(f, text);
                }
            }
        }
        List<Source> out = new ArrayList<>();
        Pattern qualified = Pattern.compile("\\b(io\\.lakelora(?:\\.[a-z]\\w*)+)\\.([A-Z]\\w*)");
        texts.forEach((f, text) -> {
            Matcher pm = Pattern.compile("(?m)^package\\s+([\\w.]+)\\s*;").matcher(text);
            pm.find();
            String pkg = pm.group(1);
            Set<String> uses = new TreeSet<>();
            Matcher q = qualified.matcher(text);
            while (q.find()) {
                String target = classes.get(q.group(1) + "." + q.group(2));
                if (target != null && !target.equals(pkg)) uses.add(target);
            }
            Matcher w = Pattern.compile("(?m)^import\\s+(?:static\\s+)?(io\\.lakelora[\\w.]*)\\.\\*\\s*;")
                    .matcher(text);
            while (w.find()) { // a wildcard import uses the package (or the class) it names
                String target = classes.containsValue(w.group(1)) ? w.group(1) : classes.get(w.group(1));
                if (target != null && !target.equals(pkg)) uses.add(target);
            }
            out.add(new Source(ROOT.relativize(f).toString(), pkg, uses));
        });
        return out;
    }

    static String stripComments(String s) {
        return s.replaceAll("(?s)/\\*.*?\\*/", " ").replaceAll("(?m)//.*$", "");
    }

    /** Every use that does not go strictly down the layers, and every package the table does not list. */
    static List<String> violations(List<Source> sources, Map<String, Integer> layers) {
        List<String> out = new ArrayList<>();
        for (Source s : sources) {
            String from = s.pkg().substring(PREFIX.length());
            Integer lf = layers.get(from);
            if (lf == null) {
                out.add(s.file() + ": package " + from + " is not in docs/architecture.md's table. Fix: add it to "
                        + "the layer it belongs to");
                continue;
            }
            for (String use : s.uses()) {
                String to = use.substring(PREFIX.length());
                Integer lt = layers.get(to);
                if (lt == null) continue; // reported for its own files
                if (lt >= lf) {
                    out.add(s.file() + ": " + from + " (layer " + lf + ") uses " + to + " (layer " + lt + "); a "
                            + "package may use only lower layers. Fix: move the shared piece down, or invert the "
                            + "dependency");
                }
            }
        }
        return out;
    }

    /** Strongly connected package groups of more than one package (the cycles), for the report. */
    static List<Set<String>> cycles(List<Source> sources) {
        Map<String, Set<String>> g = new TreeMap<>();
        for (Source s : sources)
            g.computeIfAbsent(s.pkg(), k -> new TreeSet<>()).addAll(s.uses());
        List<Set<String>> out = new ArrayList<>();
        Set<String> seen = new TreeSet<>();
        for (String a : g.keySet()) {
            if (seen.contains(a)) continue;
            Set<String> comp = new TreeSet<>();
            for (String b : g.keySet()) if (reaches(g, a, b) && reaches(g, b, a)) comp.add(b);
            seen.addAll(comp);
            if (comp.size() > 1) out.add(comp);
        }
        return out;
    }

    static boolean reaches(Map<String, Set<String>> g, String from, String to) {
        if (from.equals(to)) return true;
        Set<String> seen = new TreeSet<>(Set.of(from));
        List<String> stack = new ArrayList<>(List.of(from));
        while (!stack.isEmpty()) {
            for (String n : g.getOrDefault(stack.remove(stack.size() - 1), Set.of())) {
                if (n.equals(to)) return true;
                if (seen.add(n)) stack.add(n);
            }
        }
        return false;
    }

    @Test
    void everyPackageUsesOnlyLowerLayers() throws IOException {
        Map<String, Integer> layers = documentedLayers();
        assertTrue(layers.size() >= 30, "the table lists the packages: " + layers);
        List<Source> sources = scan(SOURCES);
        assertTrue(sources.size() > 150, "the scan found the sources: " + sources.size());
        List<String> bad = violations(sources, layers);
        assertEquals(List.of(), bad, String.join("\n", bad));
        assertEquals(List.of(), cycles(sources), "no package cycles in pipeline, udfs and jobs");
        Set<String> present = new TreeSet<>();
        sources.forEach(s -> present.add(s.pkg().substring(PREFIX.length())));
        assertEquals(present, layers.keySet(), "the table lists exactly the packages that exist");
    }

    @Test
    void anUpwardOrSidewaysUseIsReportedWithItsFix() throws IOException {
        Path tmp = Files.createTempDirectory("arch");
        try {
            write(
                    tmp,
                    "io/lakelora/kernel/K.java",
                    "package io.lakelora.kernel;\nimport io.lakelora.cli.C;\n"
                            + "// io.lakelora.model.M in a comment is not a use\nclass K { C c; }\n");
            write(tmp, "io/lakelora/cli/C.java", "package io.lakelora.cli;\nclass C { io.lakelora.kernel.K k; }\n");
            write(tmp, "io/lakelora/model/M.java", "package io.lakelora.model;\nclass M { io.lakelora.peft.P p; }\n");
            write(tmp, "io/lakelora/peft/P.java", "package io.lakelora.peft;\nclass P {}\n");
            write(tmp, "io/lakelora/nowhere/N.java", "package io.lakelora.nowhere;\nclass N {}\n");
            List<Source> sources = scan(List.of(tmp));
            List<String> bad = violations(sources, documentedLayers());
            assertEquals(3, bad.size(), String.join("\n", bad));
            assertTrue(bad.stream().anyMatch(b -> b.contains("kernel (layer 2) uses cli (layer 8)")), bad.toString());
            assertTrue(bad.stream().anyMatch(b -> b.contains("model (layer 5) uses peft (layer 6)")), bad.toString());
            assertTrue(bad.stream().anyMatch(b -> b.contains("package nowhere is not in")), bad.toString());
            assertEquals(List.of(Set.of("io.lakelora.cli", "io.lakelora.kernel")), cycles(sources));
        } finally {
            try (Stream<Path> s = Files.walk(tmp)) {
                s.sorted(java.util.Comparator.reverseOrder())
                        .forEach(p -> p.toFile().delete());
            }
        }
    }

    static void write(Path root, String rel, String text) {
        try {
            Path f = root.resolve(rel);
            Files.createDirectories(f.getParent());
            Files.writeString(f, text);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
