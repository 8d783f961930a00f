package io.lakelora.jobs.common;

import java.nio.file.Path;

/**
 * Locations in the lake: every table is {@code <root>/tables/<name>}. The root is a Hadoop URI or a local path (made
 * absolute, {@code file:} URI). Table names used by the jobs are constants here so that jobs and notebooks agree.
 */
public final class LakePaths {
    public static final String CORPUS_CLEAN = "corpus_clean";
    public static final String CORPUS_QUARANTINE = "corpus_quarantine";
    /** Near-dedup signatures of corpus_clean documents (hashed shingle ids + MinHash values) per settings key. */
    public static final String CORPUS_MINHASH = "corpus_minhash";

    public static final String TOKEN_BLOCKS = "token_blocks";
    public static final String TOKEN_QUARANTINE = "token_quarantine";
    public static final String JOB_RUNS = "job_runs";
    public static final String PROCESSED_FILES = "processed_files";
    /** Job 03's per-step metrics (loss, learning rate, tokens), read by job 05's report. */
    public static final String TRAIN_METRICS = "train_metrics";

    private final String root;

    public LakePaths(String root) {
        this.root = toUri(root);
    }

    /**
     * A relative local path becomes an absolute {@code file:/...} URI (Hadoop's qualified form, so Delta sees one
     * location); an absolute path is qualified with the default file system ({@code dbfs:/Volumes/...} on Databricks,
     * {@code file:/...} elsewhere); URIs with a scheme stay as they are (no trailing slash; {@code file:///x} becomes
     * {@code file:/x}).
     */
    public static String toUri(String location) {
        if (location == null || location.isBlank()) {
            throw new IllegalArgumentException("empty lake location. Fix: set lake.root");
        }
        String s = location.strip();
        if (s.matches("^[A-Za-z][A-Za-z0-9+.-]*:.*") && !s.matches("^[A-Za-z]:[\\\\/].*")) {
            while (s.endsWith("/") && !s.endsWith("://")) s = s.substring(0, s.length() - 1);
            // file:///x (java.net.URI's form) -> file:/x (Hadoop's qualified form): Delta compares locations as text
            if (s.startsWith("file:///")) s = "file:/" + s.substring("file:///".length());
            return s;
        }
        if (s.startsWith("/")) { // absolute: on the default file system (DBFS's /Volumes on Databricks, else the disk)
            java.net.URI fs = org.apache.hadoop.fs.FileSystem.getDefaultUri(JobConfigs.hadoopConf());
            String path = Path.of(s).normalize().toString();
            if (fs.getScheme() == null || fs.getScheme().equals("file")) return "file:" + path;
            return fs.getScheme() + ":" + (fs.getAuthority() == null ? "" : "//" + fs.getAuthority()) + path;
        }
        String abs = Path.of(s).toAbsolutePath().normalize().toString().replace('\\', '/');
        return "file:" + (abs.startsWith("/") ? "" : "/") + abs;
    }

    public String root() {
        return root;
    }

    public String table(String name) {
        if (!name.matches("[a-z][a-z0-9_]*")) {
            throw new IllegalArgumentException("table name '" + name + "': expected lower_snake_case");
        }
        return root + "/tables/" + name;
    }
}
