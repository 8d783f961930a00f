package io.lakelora.jobs.cluster;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * The integration tests' inputs for a {@link StandaloneCluster} (system properties set by the jobs pom):
 * {@code lakelora.cluster.classpath} (the Spark distribution's jars: provided scope without Delta, plus the groups
 * Maven widens to compile scope, plus Guava), {@code lakelora.delta.classpath} (Delta, shipped with {@code --jars} as
 * on open-source Spark), {@code lakelora.jobjar} (the shaded job jar) and {@code lakelora.root} (the repository).
 */
public final class TestCluster {
    private TestCluster() {}

    /**
     * A standalone cluster of the Spark distribution's jars, the project's JVM flags on every daemon, and the test S3
     * server's credentials in the daemons' environment (executors inherit it, as from an instance's environment).
     */
    public static StandaloneCluster start(int workers, int cores, String memory) {
        return StandaloneCluster.start(
                classpath("lakelora.cluster.classpath"),
                jvmFlags(),
                workers,
                cores,
                memory,
                Map.of(
                        "AWS_ACCESS_KEY_ID",
                        io.lakelora.jobs.testing.S3Proxy.ACCESS_KEY,
                        "AWS_SECRET_ACCESS_KEY",
                        io.lakelora.jobs.testing.S3Proxy.SECRET_KEY));
    }

    /** The project's JVM flags (bin/jvm.args, one per line). */
    public static List<String> jvmFlags() {
        try {
            return Files.readAllLines(root().resolve("bin/jvm.args")).stream()
                    .map(String::strip)
                    .filter(l -> !l.isEmpty() && !l.startsWith("#"))
                    .toList();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    public static Path root() {
        return Path.of(required("lakelora.root"));
    }

    static String required(String property) {
        String v = System.getProperty(property);
        if (v == null || v.isBlank()) {
            throw new IllegalStateException("system property " + property + " is not set. Fix: run the integration "
                    + "tests through Maven (mvn verify; the jobs pom sets it)");
        }
        return v;
    }

    /** The Delta jars for {@code --jars}. */
    public static List<String> deltaJars() {
        return classpath("lakelora.delta.classpath");
    }

    /** The jars listed in the classpath files (comma-separated) that system property {@code property} names. */
    static List<String> classpath(String property) {
        List<String> out = new ArrayList<>();
        for (String file : required(property).split(",")) {
            try {
                String text = Files.readString(Path.of(file)).strip();
                for (String e : text.split(java.io.File.pathSeparator)) if (!e.isBlank()) out.add(e);
            } catch (IOException e) {
                throw new UncheckedIOException("reading the classpath file " + file + " of " + property, e);
            }
        }
        return out;
    }
}
