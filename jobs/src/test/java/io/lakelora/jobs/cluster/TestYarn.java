package io.lakelora.jobs.cluster;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * A YARN cluster for the integration tests: the {@code jobs/yarn-minicluster} module's {@code MiniYarn} (Hadoop's
 * MiniYARNCluster: a ResourceManager and one NodeManager) started as its own JVM from the classpath file that module
 * writes (system property {@code lakelora.minicluster.classpath}). {@link #confDir()} is the {@code HADOOP_CONF_DIR}
 * for spark-submit; {@link #containerLogs()} holds every container's stdout/stderr; {@link #close()} stops it and
 * every container JVM it launched.
 */
final class TestYarn implements AutoCloseable {
    private final Process process;
    private final Path dir;

    private TestYarn(Process process, Path dir) {
        this.process = process;
        this.dir = dir;
    }

    /** Starts the cluster under {@code dir} with a NodeManager of {@code memoryMb} and {@code vcores}. */
    static TestYarn start(Path dir, int memoryMb, int vcores) throws IOException {
        Path cpFile = Path.of(TestCluster.required("lakelora.minicluster.classpath"));
        if (!Files.isRegularFile(cpFile)) {
            throw new IllegalStateException(cpFile + " does not exist. Fix: build the jobs/yarn-minicluster module "
                    + "first (mvn verify from the repository root, or mvn -pl jobs -am verify)");
        }
        String cp = cpFile.getParent().resolve("classes")
                + java.io.File.pathSeparator
                + Files.readString(cpFile).strip();
        Files.createDirectories(dir);
        List<String> cmd = new ArrayList<>(List.of(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Xmx768m",
                "-Dtest.build.data=" + dir.resolve("data"),
                "-Dhadoop.tmp.dir=" + dir.resolve("tmp"),
                "-cp",
                cp,
                "io.lakelora.yarnmini.MiniYarn",
                dir.resolve("conf").toString(),
                Integer.toString(memoryMb),
                Integer.toString(vcores)));
        Process p = new ProcessBuilder(cmd)
                .directory(dir.toFile())
                .redirectErrorStream(true)
                .redirectOutput(dir.resolve("miniyarn.log").toFile())
                .start();
        TestYarn y = new TestYarn(p, dir);
        long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
        while (!Files.exists(y.confDir().resolve("yarn-site.xml"))) {
            if (!p.isAlive() || System.nanoTime() > end) {
                y.close();
                throw new IllegalStateException(
                        "the mini YARN cluster did not start within 120 s: " + tail(dir.resolve("miniyarn.log")));
            }
            StandaloneCluster.sleep(250);
        }
        return y;
    }

    /** The client configuration ({@code HADOOP_CONF_DIR}). */
    Path confDir() {
        return dir.resolve("conf");
    }

    /** The container log files (stdout, stderr) of {@code appId}, in container order. */
    List<Path> containerLogs(String appId) throws IOException {
        try (Stream<Path> s = Files.walk(dir.resolve("data"))) {
            return s.filter(f -> f.getParent() != null
                            && f.getParent().getParent() != null
                            && f.getParent()
                                    .getParent()
                                    .getFileName()
                                    .toString()
                                    .equals(appId)
                            && (f.getFileName().toString().equals("stderr")
                                    || f.getFileName().toString().equals("stdout")))
                    .sorted()
                    .toList();
        }
    }

    /** The text of every container log of {@code appId}, each under a header line naming its container. */
    String containerOutput(String appId) throws IOException {
        StringBuilder sb = new StringBuilder();
        for (Path f : containerLogs(appId)) {
            sb.append("==> ")
                    .append(f.getParent().getFileName())
                    .append('/')
                    .append(f.getFileName())
                    .append('\n');
            sb.append(Files.readString(f)).append('\n');
        }
        return sb.toString();
    }

    static String tail(Path f) {
        try {
            String s = Files.exists(f) ? Files.readString(f) : "(no " + f + ")";
            return s.length() > 4000 ? s.substring(s.length() - 4000) : s;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @Override
    public void close() {
        try {
            process.getOutputStream().close(); // MiniYarn stops its services when its stdin closes
            if (!process.waitFor(30, TimeUnit.SECONDS)) process.destroyForcibly();
        } catch (IOException e) {
            process.destroyForcibly();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            process.destroyForcibly();
        }
        // container JVMs left behind (their launch scripts live under our directory)
        StandaloneCluster.killProcessesNaming(dir);
        process.descendants().forEach(ProcessHandle::destroyForcibly);
    }
}
