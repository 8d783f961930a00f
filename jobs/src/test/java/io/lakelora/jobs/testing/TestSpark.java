package io.lakelora.jobs.testing;

import io.lakelora.jobs.common.CommonConfig;
import io.lakelora.jobs.common.SparkSessions;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.util.LinkedHashMap;
import java.util.Map;
import org.apache.spark.sql.SparkSession;

/**
 * The Spark session for a test class (one per class; stop it in {@code @AfterAll}): local[2], 2 shuffle partitions,
 * Delta's snapshot partitions at 2, no UI, a temp warehouse, built by the production {@link SparkSessions}.
 */
public final class TestSpark {
    private TestSpark() {}

    public static CommonConfig config() {
        CommonConfig c = new CommonConfig();
        c.spark.master = "local[2]";
        c.spark.appName = "lakelora-test";
        c.spark.shufflePartitions = 2;
        return c;
    }

    public static SparkSession start(Map<String, String> extra) {
        Map<String, String> m = new LinkedHashMap<>();
        m.put("spark.ui.enabled", "false");
        m.put("spark.databricks.delta.snapshotPartitions", "2");
        m.put("spark.sql.adaptive.coalescePartitions.initialPartitionNum", "2");
        try {
            m.put(
                    "spark.sql.warehouse.dir",
                    Files.createTempDirectory("warehouse").toUri().toString());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        m.putAll(extra);
        return SparkSessions.getOrCreate(config(), m);
    }

    public static void stop(SparkSession spark) {
        if (spark != null) spark.stop();
        SparkSession.clearActiveSession();
        SparkSession.clearDefaultSession();
    }
}
