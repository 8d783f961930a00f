package io.lakelora.jobs.common;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.lakelora.config.ConfigLoader;
import java.io.FileNotFoundException;
import java.io.IOException;
import java.io.InputStream;
import java.util.List;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.spark.SparkConf;
import org.apache.spark.deploy.SparkHadoopUtil;
import org.apache.spark.sql.SparkSession;

/**
 * Loads a job's layered config from any Hadoop file system, with the environment overlay chosen by one key.
 *
 * <p>Order: the {@code --config} files (each with its {@code extends} chain, resolved relative to the file that names
 * it) -> the environment overlay {@code env/<env>.yaml} beside the first config file -> the {@code key=value}
 * overrides. {@code env} comes from an override ({@code env=yarn}), else from a config file, else from the launcher's
 * default (system property {@code lakelora.env}: {@code bin/lakelora} sets {@code local}; spark-submit, Databricks and
 * Airflow set none, so nothing replaces the cluster's master). {@code env} may also be a file or URI ending in
 * {@code .yaml}, or several, comma-separated and applied in order ({@code env=k8s,s3}). {@code env=none} selects no
 * overlay.
 *
 * <p>Locations: a URI with a scheme ({@code s3a://}, {@code abfss://}, {@code gs://}, {@code dbfs:/}, {@code file:})
 * is read through its Hadoop file system; {@code /Workspace/...} as {@code file:/Workspace/...} (Databricks workspace
 * files); another absolute path without scheme ({@code /Volumes/...}) through the default file system (DBFS on
 * Databricks, the local disk elsewhere); a relative path is a local file
 * relative to the working directory (the bundle or archive directory in a cluster-mode driver).
 */
public final class JobConfigs {
    /** The system property that names the default environment overlay ({@code bin/lakelora}: local). */
    public static final String DEFAULT_ENV_PROPERTY = "lakelora.env";

    private JobConfigs() {}

    /** Resolves and binds a job config; {@code defaultEnv} applies when neither an override nor a file sets env. */
    public static <T> T load(List<String> locations, List<String> overrides, Class<T> type, String defaultEnv) {
        return ConfigLoader.bind(resolve(locations, overrides, defaultEnv), type, locations.toString());
    }

    /** As {@link #load}, with the default environment of this launcher (system property {@code lakelora.env}). */
    public static <T> T load(List<String> locations, List<String> overrides, Class<T> type) {
        return load(locations, overrides, type, System.getProperty(DEFAULT_ENV_PROPERTY));
    }

    /** The merged tree: files, then the env overlay, then the overrides. */
    public static ObjectNode resolve(List<String> locations, List<String> overrides, String defaultEnv) {
        if (locations.isEmpty()) {
            throw new IllegalArgumentException("no config file given. Fix: pass --config conf/NN_<job>.yaml");
        }
        ConfigLoader.Source src = source(hadoopConf());
        ObjectNode tree = ConfigLoader.resolveTree(locations, List.of(), src);
        String env = envOf(tree, overrides, defaultEnv);
        if (env != null) {
            String first = src.canonical(locations.get(0));
            for (String one : env.split(",")) merge(tree, overlay(src, first, one.strip()));
        }
        for (String o : overrides) ConfigLoader.applyOverride(tree, o);
        if (env != null) tree.put("env", env);
        else tree.remove("env");
        return tree;
    }

    /** One overlay: {@code env/<name>.yaml} beside {@code first}, or a .yaml file / URI. */
    private static ObjectNode overlay(ConfigLoader.Source src, String first, String env) {
        if (!env.matches("[A-Za-z0-9_.:/-]+")) {
            throw new IllegalArgumentException("config key 'env' has '" + env + "': expected overlay names such as "
                    + "local, yarn, k8s, databricks, s3, s3-compatible (conf/env/<name>.yaml; several: env=k8s,s3) "
                    + "or a .yaml file");
        }
        String loc = env.endsWith(".yaml") || env.endsWith(".yml") ? env : src.resolve(first, "env/" + env + ".yaml");
        try {
            return ConfigLoader.resolveTree(List.of(loc), List.of(), src);
        } catch (IllegalArgumentException e) {
            if (e.getMessage() != null && e.getMessage().startsWith("config file not found")) {
                throw new IllegalArgumentException(
                        "config key 'env' names '" + env + "' but there is no " + loc
                                + ". Fix: use the overlays in the env/ directory beside " + first
                                + " (local, yarn, k8s, "
                                + "databricks, s3, s3-compatible), a .yaml file, or env=none",
                        e);
            }
            throw e;
        }
    }

    private static void merge(ObjectNode into, ObjectNode from) {
        ConfigLoader.merge(into, from);
    }

    static String envOf(ObjectNode tree, List<String> overrides, String defaultEnv) {
        String env = null;
        for (String o : overrides) {
            if (o.startsWith("env=")) env = o.substring(4).strip();
        }
        if (env == null) {
            JsonNode n = tree.get("env");
            if (n != null && !n.isNull()) env = n.asText();
        }
        if (env == null) env = defaultEnv;
        if (env == null || env.isBlank() || env.equals("none") || env.equals("null")) return null;
        return env;
    }

    /** The Hadoop settings of the active session, else those spark-submit passed as {@code spark.hadoop.*}. */
    public static Configuration hadoopConf() {
        scala.Option<SparkSession> active = SparkSession.getActiveSession();
        if (active.isDefined()) return active.get().sparkContext().hadoopConfiguration();
        return SparkHadoopUtil.get().newConfiguration(new SparkConf());
    }

    /** A location as the jobs read it: relative local paths become absolute {@code file:} URIs. */
    public static String qualify(String location) {
        String s = location.strip();
        // Databricks workspace files are local files to Spark (file:/Workspace/...), not DBFS paths
        if (s.startsWith("/Workspace/")) return "file:" + s;
        if (s.matches("^[A-Za-z][A-Za-z0-9+.-]*:.*") || s.startsWith("/")) return s;
        return java.nio.file.Path.of(s).toAbsolutePath().normalize().toUri().toString();
    }

    /** Config files through the Hadoop FileSystem API. */
    public static ConfigLoader.Source source(Configuration conf) {
        return new ConfigLoader.Source() {
            @Override
            public byte[] read(String location) throws IOException {
                org.apache.hadoop.fs.Path p = new org.apache.hadoop.fs.Path(location);
                FileSystem fs = p.getFileSystem(conf);
                try (InputStream in = fs.open(p)) {
                    return in.readAllBytes();
                } catch (FileNotFoundException e) {
                    return null;
                }
            }

            @Override
            public String resolve(String containingFile, String relative) {
                if (relative.matches("^[A-Za-z][A-Za-z0-9+.-]*:.*") || relative.startsWith("/")) return relative;
                java.net.URI base = java.net.URI.create(containingFile.replace(" ", "%20"));
                return base.resolve(relative.replace(" ", "%20")).toString().replace("%20", " ");
            }

            @Override
            public String canonical(String location) {
                return qualify(location);
            }
        };
    }
}
