package io.lakelora.jobs.common;

import java.util.LinkedHashMap;
import java.util.Map;
import org.apache.spark.SparkConf;
import org.apache.spark.sql.SparkSession;

/**
 * Builds (or joins) the Spark session a job runs in: Delta Lake's SQL extension and catalog, S3A settings from the
 * config, shuffle partitions, and {@code local[2]} when neither spark-submit nor the config names a master. On
 * Databricks or under spark-submit the existing master and settings are kept.
 */
public final class SparkSessions {
    private SparkSessions() {}

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
        SparkConf conf = new SparkConf();
        SparkSession.Builder b = SparkSession.builder().appName(cfg.spark.appName);
        if (cfg.spark.master != null && !cfg.spark.master.isBlank()) {
            b.master(cfg.spark.master);
        } else if (!conf.contains("spark.master")) {
            b.master("local[2]");
        }
        settings(cfg).forEach(b::config);
        extra.forEach(b::config);
        SparkSession spark = b.getOrCreate();
        // an existing session (notebook, test suite) was built without these: put the Hadoop ones in its Hadoop conf
        settings(cfg).forEach((k, v) -> {
            if (k.startsWith("spark.hadoop.")) spark.sparkContext().hadoopConfiguration().set(k.substring(13), v);
        });
        spark.conf().set("spark.sql.shuffle.partitions", Integer.toString(cfg.spark.shufflePartitions));
        return spark;
    }
}
