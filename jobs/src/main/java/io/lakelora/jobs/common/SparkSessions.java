package io.lakelora.jobs.common;

import java.util.LinkedHashMap;
import java.util.Map;
import org.apache.spark.SparkConf;
import org.apache.spark.sql.SparkSession;

/**
 * Builds (or joins) the Spark session a job runs in: Delta Lake's SQL extension and catalog, S3A settings from the
 * config, shuffle partitions. The master is the platform's whenever it has one: an existing session (notebook,
 * Databricks JAR task, test suite) is joined as it is, and spark-submit's {@code --master} (the {@code spark.master}
 * system property) wins over the config; the config's {@code spark.master} (env/local.yaml: local[2]) applies only
 * when neither is set, and {@code local[2]} when nothing is. A session this class did not create is never stopped.
 */
public final class SparkSessions {
    /** The session this process built itself (stopped by the launcher at the end), or null. */
    private static volatile SparkSession created;

    private SparkSessions() {}

    /** Whether this JVM runs on Databricks (a JAR task or a notebook): never exit, never stop the session. */
    public static boolean onDatabricks() {
        return System.getenv("DATABRICKS_RUNTIME_VERSION") != null;
    }

    /**
     * Whether this JVM is a YARN cluster-mode driver: Spark's ApplicationMaster sets these system properties before it
     * calls the application's {@code main} in its own process.
     */
    public static boolean inYarnClusterDriver() {
        return System.getProperty("spark.yarn.app.id") != null
                && "cluster".equals(System.getProperty("spark.submit.deployMode"));
    }

    /** The master a new session gets: spark-submit's, else the config's, else local[2]. */
    static String masterFor(CommonConfig cfg, SparkConf submitted) {
        if (submitted.contains("spark.master")) return submitted.get("spark.master");
        if (cfg.spark.master != null && !cfg.spark.master.isBlank()) return cfg.spark.master;
        return "local[2]";
    }

    /**
     * Fails before any Spark work when the lake cannot be reached (an unreachable object store, no permission):
     * one listing call, an I/O error (exit 4) that names lake.root and the fix.
     */
    static void requireReachable(SparkSession spark, String lakeRoot) {
        org.apache.hadoop.fs.Path root = new org.apache.hadoop.fs.Path(LakePaths.toUri(lakeRoot));
        try {
            root.getFileSystem(spark.sparkContext().hadoopConfiguration()).exists(root);
        } catch (java.io.IOException | RuntimeException e) {
            String why = String.valueOf(e.getMessage()).lines().findFirst().orElse(e.toString());
            throw new java.io.UncheckedIOException(
                    "lake.root " + root + " cannot be reached: " + why + ". Fix: check "
                            + "the endpoint (s3a.endpoint), the network and the credentials, then rerun",
                    e instanceof java.io.IOException io ? io : new java.io.IOException(e));
        }
    }

    /** Stops the session if this process created it (the CLI launchers call it once, at the end). */
    public static void stopIfCreated() {
        SparkSession s = created;
        created = null;
        if (s != null && !onDatabricks()) s.stop();
    }

    /** The settings this class derives from the config (exposed for tests and for notebooks that build their own). */
    public static Map<String, String> settings(CommonConfig cfg) {
        Map<String, String> m = new LinkedHashMap<>();
        m.put("spark.sql.extensions", "io.delta.sql.DeltaSparkSessionExtension");
        m.put("spark.sql.catalog.spark_catalog", "org.apache.spark.sql.delta.catalog.DeltaCatalog");
        m.put("spark.sql.shuffle.partitions", Integer.toString(cfg.spark.shufflePartitions));
        m.putAll(s3aSettings(cfg.s3a));
        m.putAll(cfg.spark.conf);
        return m;
    }

    /**
     * Hadoop {@code fs.s3a.*} settings (as {@code spark.hadoop.*}) for what the config's s3a section asks for, and
     * nothing else: a section left at its defaults (conf/base.yaml; every platform without an S3 overlay: Databricks,
     * YARN, Kubernetes, local) sets no file system key, so the platform's own S3 connector and its settings stay in
     * charge. Only an overlay that names an endpoint, region or credentials provider, or turns on path-style access or
     * off TLS (conf/env/s3.yaml, conf/env/s3-compatible.yaml), produces settings. Never credentials.
     */
    public static Map<String, String> s3aSettings(CommonConfig.S3a s3a) {
        Map<String, String> m = new LinkedHashMap<>();
        String p = "spark.hadoop.fs.s3a.";
        if (isSet(s3a.endpoint)) {
            m.put(p + "endpoint", s3a.endpoint);
            // S3-compatible stores do not implement the ETag/version checks AWS does
            m.put(p + "change.detection.mode", "none");
        }
        if (isSet(s3a.region)) m.put(p + "endpoint.region", s3a.region);
        if (s3a.pathStyleAccess) m.put(p + "path.style.access", "true");
        if (!s3a.sslEnabled) m.put(p + "connection.ssl.enabled", "false");
        if (isSet(s3a.credentialsProvider)) m.put(p + "aws.credentials.provider", s3a.credentialsProvider);
        return m;
    }

    private static boolean isSet(String value) {
        return value != null && !value.isBlank();
    }

    /**
     * Gets or creates the session. {@code extra} settings come from code (tests, notebooks), never from config files.
     */
    public static SparkSession getOrCreate(CommonConfig cfg, Map<String, String> extra) {
        cfg.validateCommon();
        boolean existing = SparkSession.getActiveSession().isDefined()
                || SparkSession.getDefaultSession().isDefined()
                || onDatabricks();
        SparkSession.Builder b = SparkSession.builder();
        if (!existing) b.appName(cfg.spark.appName).master(masterFor(cfg, new SparkConf()));
        // on an existing session the SQL settings apply at run time; static ones (extensions) were set by its owner
        settings(cfg).forEach(b::config);
        extra.forEach(b::config);
        SparkSession spark = b.getOrCreate();
        if (!existing) created = spark;
        System.err.println("[lakelora] driver pid " + ProcessHandle.current().pid() + ", master "
                + spark.sparkContext().master() + ", app "
                + spark.sparkContext().applicationId());
        // an existing session (notebook, test suite) was built without these: put the Hadoop ones in its Hadoop conf
        settings(cfg).forEach((k, v) -> {
            if (k.startsWith("spark.hadoop."))
                spark.sparkContext().hadoopConfiguration().set(k.substring(13), v);
        });
        spark.conf().set("spark.sql.shuffle.partitions", Integer.toString(cfg.spark.shufflePartitions));
        requireReachable(spark, cfg.lake.root);
        return spark;
    }
}
