package io.lakelora.jobs.testing;

import org.apache.spark.sql.SparkSession;

/** One local[2] Spark session with Delta for a test class (DESIGN.md: shuffle partitions 2, snapshot partitions 2). */
public final class LocalSpark {
    private LocalSpark() {}

    public static SparkSession start(String app) {
        return SparkSession.builder()
                .master("local[2,4]") // 2 threads, up to 4 attempts per task (so injected task failures are retried)
                .appName(app)
                .config("spark.ui.enabled", "false")
                .config("spark.sql.shuffle.partitions", "2")
                .config("spark.default.parallelism", "2")
                .config("spark.databricks.delta.snapshotPartitions", "2")
                .config("spark.sql.extensions", "io.delta.sql.DeltaSparkSessionExtension")
                .config("spark.sql.catalog.spark_catalog", "org.apache.spark.sql.delta.catalog.DeltaCatalog")
                .config("spark.driver.bindAddress", "127.0.0.1")
                .config("spark.driver.host", "127.0.0.1")
                .getOrCreate();
    }
}
