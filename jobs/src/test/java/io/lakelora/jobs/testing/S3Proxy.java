package io.lakelora.jobs.testing;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.HttpURLConnection;
import java.net.ServerSocket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * An S3 server on 127.0.0.1 for tests: s3proxy (filesystem backend in a temp directory) started as a separate JVM
 * from its self-contained jar (system property {@code lakelora.s3proxy.jar}, copied there by the jobs pom), on a free
 * port, logging at WARN. {@link #sparkSettings()} gives the s3a settings a Spark session needs to use it.
 */
public final class S3Proxy implements AutoCloseable {
    public static final String ACCESS_KEY = "lakelora-test";
    public static final String SECRET_KEY = "lakelora-test-secret";

    private final Path dir;
    private final int port;
    private final Process process;
    private final Path log;

    private S3Proxy(Path dir, int port, Process process, Path log) {
        this.dir = dir;
        this.port = port;
        this.process = process;
        this.log = log;
    }

    /** Starts the server with the given buckets (directories of the filesystem backend); waits until it answers. */
    public static S3Proxy start(String... buckets) {
        String jar = System.getProperty("lakelora.s3proxy.jar");
        if (jar == null || !Files.isRegularFile(Path.of(jar))) {
            throw new IllegalStateException("s3proxy jar not found at system property lakelora.s3proxy.jar=" + jar
                    + ". Fix: run the tests through Maven (the jobs pom copies org.gaul:s3proxy:jar-with-dependencies "
                    + "to target/s3proxy/s3proxy.jar)");
        }
        try {
            Path dir = Files.createTempDirectory("s3proxy");
            Path data = Files.createDirectories(dir.resolve("data"));
            for (String b : buckets) Files.createDirectories(data.resolve(b));
            int port;
            try (ServerSocket s = new ServerSocket(0)) {
                port = s.getLocalPort();
            }
            Path props = dir.resolve("s3proxy.conf");
            Files.writeString(
                    props,
                    String.join(
                                    "\n",
                                    "s3proxy.endpoint=http://127.0.0.1:" + port,
                                    "s3proxy.authorization=aws-v2-or-v4",
                                    "s3proxy.identity=" + ACCESS_KEY,
                                    "s3proxy.credential=" + SECRET_KEY,
                                    "jclouds.provider=filesystem",
                                    "jclouds.filesystem.basedir=" + data)
                            + "\n");
            Path logback = dir.resolve("logback.xml");
            Files.writeString(
                    logback,
                    "<configuration><appender name=\"err\" class=\"ch.qos.logback.core.ConsoleAppender\">"
                            + "<target>System.err</target><encoder><pattern>[s3proxy] %level %logger{20}: %msg%n</pattern></encoder>"
                            + "</appender><root level=\"WARN\"><appender-ref ref=\"err\"/></root></configuration>\n");
            String java = ProcessHandle.current().info().command().orElse("java");
            Path log = dir.resolve("s3proxy.log");
            Process p = new ProcessBuilder(List.of(
                            java,
                            "-Xmx256m",
                            "-Dlogback.configurationFile=" + logback,
                            "-jar",
                            jar,
                            "--properties",
                            props.toString()))
                    .redirectErrorStream(true)
                    .redirectOutput(log.toFile())
                    .start();
            S3Proxy server = new S3Proxy(dir, port, p, log);
            server.awaitReady();
            return server;
        } catch (IOException e) {
            throw new UncheckedIOException("starting s3proxy", e);
        }
    }

    private void awaitReady() throws IOException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (System.nanoTime() < deadline) {
            if (!process.isAlive()) {
                throw new IllegalStateException(
                        "s3proxy exited with " + process.exitValue() + ": " + Files.readString(log));
            }
            try {
                HttpURLConnection c =
                        (HttpURLConnection) URI.create(endpoint() + "/").toURL().openConnection();
                c.setConnectTimeout(500);
                c.setReadTimeout(2000);
                int code = c.getResponseCode(); // 403 without credentials: it is serving
                c.disconnect();
                if (code > 0) return;
            } catch (IOException notYet) {
                // not listening yet
            }
            try {
                Thread.sleep(100);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException(e);
            }
        }
        close();
        throw new IllegalStateException(
                "s3proxy did not answer on port " + port + " within 60 s: " + Files.readString(log));
    }

    public String endpoint() {
        return "http://127.0.0.1:" + port;
    }

    /** The directory holding a bucket's objects (filesystem backend), for putting input files in place. */
    public Path bucketDir(String bucket) {
        return dir.resolve("data").resolve(bucket);
    }

    /** Spark settings for s3a against this server; the credentials are test-only constants. */
    public Map<String, String> sparkSettings() {
        Map<String, String> m = new LinkedHashMap<>();
        String p = "spark.hadoop.fs.s3a.";
        m.put(p + "endpoint", endpoint());
        m.put(p + "endpoint.region", "us-east-1");
        m.put(p + "path.style.access", "true");
        m.put(p + "connection.ssl.enabled", "false");
        m.put(p + "change.detection.mode", "none");
        m.put(p + "aws.credentials.provider", "org.apache.hadoop.fs.s3a.SimpleAWSCredentialsProvider");
        m.put(p + "access.key", ACCESS_KEY);
        m.put(p + "secret.key", SECRET_KEY);
        m.put(p + "impl.disable.cache", "true"); // each test class has its own server (port)
        return m;
    }

    @Override
    public void close() {
        process.destroy();
        try {
            if (!process.waitFor(10, TimeUnit.SECONDS))
                process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        try (Stream<Path> files = Files.walk(dir)) {
            files.sorted(Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
        } catch (IOException ignored) {
            // best effort cleanup of a temp dir
        }
    }

    public String logText() {
        try {
            return Files.readString(log, StandardCharsets.UTF_8);
        } catch (IOException e) {
            return "(no log: " + e + ")";
        }
    }
}
