package io.lakelora.udfs;

import io.lakelora.text.ChatTemplate;
import io.lakelora.text.ExampleEncoder;
import io.lakelora.tokenizer.Tokenizer;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * One tokenizer per executor JVM and model path (holder idiom: a static map, loaded on first use by any task in the
 * JVM, shared by all its threads, never closed before the JVM ends). Tasks ship only the path; the native tokenizer
 * is never serialized. The path is a local path or a lake URI ({@code s3a://}, {@code abfss://}, {@code dbfs:/},
 * {@code /Volumes/...}): a lake location is copied once per JVM, through the Hadoop FileSystem with Spark's Hadoop
 * settings, to {@code java.io.tmpdir/lakelora-tokenizers}.
 */
public final class SharedTokenizers {
    private static final Map<String, Tokenizer> TOKENIZERS = new ConcurrentHashMap<>();
    private static final Map<String, ChatTemplate> TEMPLATES = new ConcurrentHashMap<>();
    private static final Map<String, ExampleEncoder> ENCODERS = new ConcurrentHashMap<>();

    private SharedTokenizers() {}

    /** The tokenizer of a model directory or tokenizer file, loaded once per JVM. */
    public static Tokenizer get(String path) {
        if (path == null || path.isBlank()) {
            throw new IllegalArgumentException(
                    "no tokenizer path given. Fix: pass a model directory or tokenizer.json");
        }
        return TOKENIZERS.computeIfAbsent(path, p -> Tokenizer.load(Path.of(localPath(p))));
    }

    /**
     * A local path for a tokenizer file or model directory: itself when it is on the local file system, else a copy
     * (the file, or the directory's files) under {@code java.io.tmpdir/lakelora-tokenizers/<hash of the location>}.
     */
    public static String localPath(String location) {
        org.apache.hadoop.fs.Path p = new org.apache.hadoop.fs.Path(location);
        String scheme = p.toUri().getScheme();
        if (scheme == null && location.startsWith("/") && !location.startsWith("/Volumes/")) return location;
        if ("file".equals(scheme)) return p.toUri().getPath();
        org.apache.spark.SparkEnv env = org.apache.spark.SparkEnv.get();
        org.apache.hadoop.conf.Configuration conf = env == null
                ? new org.apache.hadoop.conf.Configuration()
                : org.apache.spark.deploy.SparkHadoopUtil.get().newConfiguration(env.conf());
        try {
            org.apache.hadoop.fs.FileSystem fs = p.getFileSystem(conf);
            org.apache.hadoop.fs.Path q = fs.makeQualified(p);
            if ("file".equals(q.toUri().getScheme())) return q.toUri().getPath();
            Path dir = Path.of(
                    System.getProperty("java.io.tmpdir"),
                    "lakelora-tokenizers",
                    io.lakelora.util.Hashes.sha256Hex(q.toString()).substring(0, 16));
            Path done = dir.resolve(".complete");
            org.apache.hadoop.fs.FileStatus st = fs.getFileStatus(q);
            if (!java.nio.file.Files.exists(done)) {
                synchronized (SharedTokenizers.class) {
                    if (!java.nio.file.Files.exists(done)) {
                        java.nio.file.Files.createDirectories(dir);
                        org.apache.hadoop.fs.FileStatus[] files =
                                st.isFile() ? new org.apache.hadoop.fs.FileStatus[] {st} : fs.listStatus(q);
                        for (org.apache.hadoop.fs.FileStatus f : files) {
                            if (f.isFile()) {
                                fs.copyToLocalFile(
                                        false,
                                        f.getPath(),
                                        new org.apache.hadoop.fs.Path(
                                                dir.resolve(f.getPath().getName())
                                                        .toUri()),
                                        true);
                            }
                        }
                        java.nio.file.Files.createFile(done);
                    }
                }
            }
            return st.isFile() ? dir.resolve(q.getName()).toString() : dir.toString();
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(
                    "reading the tokenizer at " + location + ": " + e.getMessage()
                            + ". Fix: check the path and the credentials for its file system",
                    e);
        }
    }

    /**
     * The chat template for a model: {@code override} (a built-in name) if set, else the model's own, else the
     * built-in {@code fallback} ({@link ChatTemplate#select}).
     */
    public static ChatTemplate template(String path, String override, String fallback) {
        String key = path + "\u0000" + override + "\u0000" + fallback;
        return TEMPLATES.computeIfAbsent(key, k -> ChatTemplate.select(get(path).chatTemplate(), override, fallback));
    }

    /** The training-example encoder for a model, template choice and masking mode. */
    public static ExampleEncoder encoder(String path, String override, String fallback, boolean trainOnInputs) {
        String key = path + "\u0000" + override + "\u0000" + fallback + "\u0000" + trainOnInputs;
        return ENCODERS.computeIfAbsent(
                key, k -> new ExampleEncoder(get(path), template(path, override, fallback), trainOnInputs));
    }

    /** How many tokenizers this JVM holds (tests check that tasks share one). */
    public static int loaded() {
        return TOKENIZERS.size();
    }
}
