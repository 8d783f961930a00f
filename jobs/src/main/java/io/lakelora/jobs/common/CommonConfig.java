package io.lakelora.jobs.common;

import com.fasterxml.jackson.annotation.JsonProperty;
import java.io.Serializable;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The settings every LakeLoRA Spark job shares (YAML sections {@code lake}, {@code spark}, {@code s3a}; see
 * {@code conf/base.yaml}). Job configs extend this class and add their own sections; unknown keys are rejected by
 * {@link io.lakelora.config.ConfigLoader}.
 */
public class CommonConfig implements Serializable {
    private static final long serialVersionUID = 1L;

    /**
     * The environment overlay applied after the config files ({@code conf/env/<env>.yaml}; see
     * {@link JobConfigs}); recorded in the resolved config. Null: none (spark-submit, Databricks, Airflow).
     */
    @JsonProperty("env")
    public String env;

    @JsonProperty("lake")
    public Lake lake = new Lake();

    @JsonProperty("spark")
    public Spark spark = new Spark();

    @JsonProperty("s3a")
    public S3a s3a = new S3a();

    /** Where the Delta tables live. */
    public static class Lake implements Serializable {
        private static final long serialVersionUID = 1L;
        /** Lake root: a Hadoop URI ({@code s3a://bucket/lake}, {@code abfss://...}, {@code file:/...}) or a local path. */
        @JsonProperty("root")
        public String root = "lake";
    }

    /** The Spark session. */
    public static class Spark implements Serializable {
        private static final long serialVersionUID = 1L;
        /** Master URL; null keeps what spark-submit/Databricks set, else local[2]. */
        @JsonProperty("master")
        public String master;

        @JsonProperty("app_name")
        public String appName = "lakelora";

        @JsonProperty("shuffle_partitions")
        public int shufflePartitions = 8;
        /** Extra Spark settings, e.g. {@code spark.executor.memory}. Never credentials (use the AWS provider chain). */
        @JsonProperty("conf")
        public Map<String, String> conf = new LinkedHashMap<>();
    }

    /** S3A file system settings (Hadoop's {@code fs.s3a.*}); credentials come from the AWS provider chain, never here. */
    public static class S3a implements Serializable {
        private static final long serialVersionUID = 1L;
        /** Endpoint URL for S3-compatible stores (MinIO, s3proxy); null for AWS. */
        @JsonProperty("endpoint")
        public String endpoint;

        @JsonProperty("region")
        public String region;

        @JsonProperty("path_style_access")
        public boolean pathStyleAccess = false;

        @JsonProperty("ssl_enabled")
        public boolean sslEnabled = true;
        /**
         * Credentials provider class(es), comma separated; null keeps hadoop-aws's default chain (config keys,
         * environment variables AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, instance/container roles).
         */
        @JsonProperty("credentials_provider")
        public String credentialsProvider;
    }

    /** Checks the shared sections; errors name the key. */
    public void validateCommon() {
        if (lake == null || lake.root == null || lake.root.isBlank()) {
            throw new IllegalArgumentException(
                    "config key 'lake.root' is empty. Fix: set it to a directory or URI, e.g. "
                            + "lake or s3a://bucket/lake");
        }
        if (spark.shufflePartitions < 1) {
            throw new IllegalArgumentException(
                    "config key 'spark.shuffle_partitions' is " + spark.shufflePartitions + ", expected >= 1");
        }
        Credentials.check(this);
    }
}
