package io.lakelora.kernel;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.TimeUnit;
import jdk.incubator.vector.FloatVector;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The measured width choice, end to end in child JVMs with their own cache directory ({@code XDG_CACHE_HOME}): the
 * first process measures every supported width and caches the result; the choice is the fastest within the 3%
 * preference margin; a second process reads the cache without measuring; {@code -Dlakelora.vector.bits} overrides it.
 */
class KernelChoiceTest {

    /** Runs {@link Show} in a child JVM; returns its output (the JVM must exit 0). */
    private static String child(Path cache, String... props) throws Exception {
        return child(0, cache, props);
    }

    private static String child(int exit, Path cache, String... props) throws Exception {
        List<String> cmd = new ArrayList<>();
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        cmd.add("--add-modules=jdk.incubator.vector");
        cmd.add("-Xmx256m");
        cmd.addAll(List.of(props));
        cmd.add("-cp");
        cmd.add(System.getProperty("java.class.path"));
        cmd.add(Show.class.getName());
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
        pb.environment().put("XDG_CACHE_HOME", cache.toString());
        Process p = pb.start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(120, TimeUnit.SECONDS), "child JVM did not finish");
        assertEquals(exit, p.exitValue(), out);
        return out;
    }

    /** Prints this JVM's choice. */
    public static final class Show {
        public static void main(String[] args) {
            KernelChoice.Choice c = KernelChoice.get();
            VectorKernels vk = new VectorKernels(1);
            System.out.println("choice bits=" + c.bits() + " mc=" + c.mcOneThread() + " kernels=" + vk.name()
                    + " source=" + c.source());
        }
    }

    @Test
    void measuredOnceCachedAndOverridable(@TempDir Path dir) throws Exception {
        String first = child(dir);
        System.out.print(first);
        assertTrue(first.contains("[lakelora] kernel choice: "), "the first process measures: " + first);
        Path file = dir.resolve("lakelora").resolve("kernel-choice.properties");
        Properties p = new Properties();
        try (InputStream in = Files.newInputStream(file)) {
            p.load(in);
        }
        String key = p.stringPropertyNames().stream()
                .filter(n -> n.endsWith(".bits"))
                .findFirst()
                .orElseThrow()
                .replace(".bits", "");
        int bits = Integer.parseInt(p.getProperty(key + ".bits"));
        int mc = Integer.parseInt(p.getProperty(key + ".mc"));
        assertTrue(first.contains("choice bits=" + bits + " mc=" + mc + " kernels=vector-"), first);
        // every supported width measured, fast (compiled) and the choice the fastest within the 3% margin
        int preferred = Math.min(512, FloatVector.SPECIES_PREFERRED.vectorBitSize());
        double best = 0;
        for (int b = preferred; b >= 128; b /= 2) {
            for (int m : new int[] {12, 48}) {
                double g = Double.parseDouble(p.getProperty(key + ".gflops." + b + ".mc" + m));
                assertTrue(g > 5, b + "-bit, " + m + " rows: " + g + " GFLOP/s (interpreted?)");
                best = Math.max(best, g);
            }
        }
        double chosen = Double.parseDouble(p.getProperty(key + ".gflops." + bits + ".mc" + mc));
        assertTrue(chosen * 1.03 >= best, "chose " + bits + "/" + mc + " at " + chosen + ", best " + best);

        String second = child(dir);
        assertTrue(!second.contains("[lakelora] kernel choice: "), "the second process must not measure: " + second);
        assertTrue(second.contains("choice bits=" + bits + " mc=" + mc) && second.contains("source=cached"), second);

        String forced = child(dir, "-Dlakelora.vector.bits=128");
        assertTrue(forced.contains("choice bits=128 ") && forced.contains("kernels=vector-128"), forced);
        assertTrue(forced.contains("source=lakelora.vector.bits=128"), forced);

        String bad = child(1, dir, "-Dlakelora.vector.bits=64");
        assertTrue(bad.contains("lakelora.vector.bits='64': expected 128, 256 or 512"), bad);
    }
}
