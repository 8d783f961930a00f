package io.lakelora.jobs.cluster;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * A real Spark standalone cluster on 127.0.0.1: one master and {@code n} worker JVMs started from a SPARK_HOME made
 * of the given jars (symbolic links in {@code jars/} plus a {@code RELEASE} file, which is all Spark's launcher needs);
 * each worker launches executors as further JVMs under its own work directory. For the integration tests (the Spark
 * jars of a distribution, from Maven) and for {@code bench-spark-train --standalone} (this JVM's classpath).
 * Applications are submitted with {@code org.apache.spark.deploy.SparkSubmit}, exactly as the {@code spark-submit}
 * script runs it, or connect from this JVM with {@link #masterUrl()}. {@link #close()} kills every JVM it started
 * (and the executors and drivers below them) and removes the directories.
 */
public final class StandaloneCluster implements AutoCloseable {
    private static final ObjectMapper JSON = new ObjectMapper();

    private final Path home;
    private final Path dir;
    private final int port;
    private final int uiPort;
    private final List<Process> daemons = new ArrayList<>();
    private final List<Path> workDirs = new ArrayList<>();
    private final List<String> jvmFlags;
    /** More environment for every daemon (and so for the executors and drivers they launch). */
    private final Map<String, String> extraEnv = new LinkedHashMap<>();

    private StandaloneCluster(Path dir, Path home, int port, int uiPort, List<String> jvmFlags) {
        this.dir = dir;
        this.home = home;
        this.port = port;
        this.uiPort = uiPort;
        this.jvmFlags = List.copyOf(jvmFlags);
    }

    /**
     * Starts the master and {@code workers} workers of {@code cores} cores and {@code memory} each, on a SPARK_HOME
     * of {@code jars}; every daemon JVM gets {@code jvmFlags} (the project's, bin/jvm.args).
     */
    public static StandaloneCluster start(
            List<String> jars, List<String> jvmFlags, int workers, int cores, String memory) {
        return start(jars, jvmFlags, workers, cores, memory, Map.of());
    }

    /** {@link #start(List, List, int, int, String)} with {@code env} added to every daemon's environment. */
    public static StandaloneCluster start(
            List<String> jars, List<String> jvmFlags, int workers, int cores, String memory, Map<String, String> env) {
        try {
            Path dir = Files.createTempDirectory("lakelora-cluster");
            Path home = sparkHome(dir.resolve("spark-home"), jars);
            StandaloneCluster c = new StandaloneCluster(dir, home, freePort(), freePort(), jvmFlags);
            c.extraEnv.putAll(env);
            c.daemons.add(c.java(
                    "master",
                    List.of("-Xmx512m"),
                    "org.apache.spark.deploy.master.Master",
                    List.of(
                            "--host",
                            "127.0.0.1",
                            "--port",
                            Integer.toString(c.port),
                            "--webui-port",
                            Integer.toString(c.uiPort)),
                    dir));
            c.awaitMaster();
            for (int i = 0; i < workers; i++) {
                Path work = Files.createDirectories(dir.resolve("worker-" + i));
                c.workDirs.add(work);
                c.daemons.add(c.java(
                        "worker-" + i,
                        List.of("-Xmx256m"),
                        "org.apache.spark.deploy.worker.Worker",
                        List.of(
                                "--host",
                                "127.0.0.1",
                                "--cores",
                                Integer.toString(cores),
                                "--memory",
                                memory,
                                "--work-dir",
                                work.toString(),
                                "--webui-port",
                                Integer.toString(freePort()),
                                c.masterUrl()),
                        dir));
            }
            c.awaitWorkers(workers);
            return c;
        } catch (IOException e) {
            throw new UncheckedIOException("starting the standalone cluster", e);
        }
    }

    public String masterUrl() {
        return "spark://127.0.0.1:" + port;
    }

    public Path home() {
        return home;
    }

    public List<Path> workDirs() {
        return workDirs;
    }

    /** The master's JSON status ({@code /json/}: workers, active and completed apps and drivers). */
    public JsonNode status() {
        try {
            HttpResponse<String> r = HttpClient.newHttpClient()
                    .send(
                            HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + uiPort + "/json/"))
                                    .timeout(Duration.ofSeconds(10))
                                    .build(),
                            HttpResponse.BodyHandlers.ofString());
            return JSON.readTree(r.body());
        } catch (IOException e) {
            throw new UncheckedIOException("reading the master's status", e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    /** The executor directories ({@code <work>/<appId>/<execId>}) the workers made for {@code appId}. */
    public List<Path> executorDirs(String appId) throws IOException {
        List<Path> out = new ArrayList<>();
        for (Path w : workDirs) {
            Path app = w.resolve(appId);
            if (!Files.isDirectory(app)) continue;
            try (Stream<Path> s = Files.list(app)) {
                s.filter(Files::isDirectory).sorted().forEach(out::add);
            }
        }
        return out;
    }

    /** The environment every cluster JVM gets (what sbin/spark-config.sh would export). */
    public Map<String, String> env() {
        Map<String, String> m = new LinkedHashMap<>(extraEnv);
        m.put("SPARK_HOME", home.toString());
        m.put("SPARK_SCALA_VERSION", "2.13");
        m.put("SPARK_LOCAL_IP", "127.0.0.1");
        m.put("JAVA_HOME", Path.of(System.getProperty("java.home")).toString());
        return m;
    }

    /** A JVM on the SPARK_HOME classpath with the project's JVM flags, output to {@code <dir>/<name>.log}. */
    Process java(String name, List<String> jvm, String main, List<String> args, Path cwd) throws IOException {
        List<String> cmd = new ArrayList<>();
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        cmd.add("-cp");
        cmd.add(home.resolve("jars") + "/*");
        cmd.addAll(jvmFlags);
        cmd.addAll(jvm);
        cmd.add(main);
        cmd.addAll(args);
        ProcessBuilder pb = new ProcessBuilder(cmd)
                .directory(cwd.toFile())
                .redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(
                        dir.resolve(name + ".log").toFile()));
        pb.environment().putAll(env());
        return pb.start();
    }

    /** The JVM flags every daemon gets. */
    public List<String> jvmFlags() {
        return jvmFlags;
    }

    /** The jars of this JVM's classpath (directories left out), for a cluster that runs this project's code. */
    public static List<String> jarsOfThisJvm() {
        List<String> out = new ArrayList<>();
        for (String e : System.getProperty("java.class.path").split(java.io.File.pathSeparator)) {
            if (e.endsWith(".jar") && Files.isRegularFile(Path.of(e))) out.add(e);
        }
        return out;
    }

    private static Path sparkHome(Path home, List<String> jarFiles) throws IOException {
        Path jars = Files.createDirectories(home.resolve("jars"));
        for (String j : jarFiles) {
            Path src = Path.of(j);
            Path link = jars.resolve(src.getFileName());
            if (!Files.exists(link)) Files.createSymbolicLink(link, src);
        }
        Files.writeString(home.resolve("RELEASE"), "Spark (jars from Maven, for LakeLoRA's tests and benchmarks)\n");
        return home;
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }

    private void awaitMaster() {
        long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (System.nanoTime() < end) {
            try {
                if (status().has("url")) return;
            } catch (RuntimeException e) {
                // not up yet
            }
            sleep(300);
        }
        throw new IllegalStateException("the master did not start within 60 s: " + log("master"));
    }

    private void awaitWorkers(int n) {
        long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(90);
        while (System.nanoTime() < end) {
            if (status().path("aliveworkers").asInt() >= n) return;
            sleep(300);
        }
        throw new IllegalStateException(
                n + " workers did not register within 90 s: " + status() + "\n" + log("worker-0"));
    }

    /** Kills (SIGKILL) every process of this machine whose command line names {@code dir}. */
    public static void killProcessesNaming(Path dir) {
        ProcessHandle.allProcesses()
                .filter(h -> h.info()
                        .commandLine()
                        .map(c -> c.contains(dir.toString()))
                        .orElse(false))
                .forEach(ProcessHandle::destroyForcibly);
    }

    public String log(String name) {
        try {
            Path f = dir.resolve(name + ".log");
            return Files.exists(f) ? Files.readString(f) : "(no " + f + ")";
        } catch (IOException e) {
            return e.toString();
        }
    }

    public static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    @Override
    public void close() {
        for (Process p : daemons) {
            p.descendants().forEach(ProcessHandle::destroyForcibly);
            p.destroyForcibly();
        }
        for (Process p : daemons) {
            try {
                p.waitFor(20, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        // executors and cluster-mode drivers are children of the workers; any left over are named by our work dirs
        killProcessesNaming(dir);
        if (!Boolean.getBoolean("lakelora.cluster.keep")) {
            try (Stream<Path> w = Files.walk(dir)) {
                w.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            } catch (IOException e) {
                System.err.println("[cluster] could not remove " + dir + ": " + e);
            }
        }
    }
}
