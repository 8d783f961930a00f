package io.lakelora.jobs.common;

import java.sql.Timestamp;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;

/**
 * One run of a job, appended to the Delta table {@code job_runs}: identity, resolved config, row counts (which must
 * reconcile), per-reason and per-kind details, and the versions of the tables it wrote (the next job's lineage).
 */
public final class JobRun {
    public static final StructType SCHEMA = new StructType()
            .add("run_id", DataTypes.StringType, false)
            .add("job", DataTypes.StringType, false)
            .add("status", DataTypes.StringType, false)
            .add("mode", DataTypes.StringType, true)
            .add("started_at", DataTypes.TimestampType, false)
            .add("finished_at", DataTypes.TimestampType, false)
            .add("config_json", DataTypes.StringType, true)
            .add("counts", DataTypes.createMapType(DataTypes.StringType, DataTypes.LongType), true)
            .add("details", DataTypes.createMapType(DataTypes.StringType, DataTypes.LongType), true)
            .add("table_versions", DataTypes.createMapType(DataTypes.StringType, DataTypes.LongType), true)
            .add("message", DataTypes.StringType, true);

    public final String runId;
    public final String job;
    public final Instant startedAt = Instant.now();
    public String mode;
    public String configJson;
    public final Map<String, Long> counts = new LinkedHashMap<>();
    public final Map<String, Long> details = new LinkedHashMap<>();
    public final Map<String, Long> tableVersions = new LinkedHashMap<>();
    public String message;

    /** A run with a new time-based id. */
    public JobRun(String job) {
        this(job, null);
    }

    /** A run named {@code runId} (from the scheduler: all jobs of a pipeline run share it), or a new id when null. */
    public JobRun(String job, String runId) {
        this.job = job;
        if (runId != null && !runId.isBlank()) {
            if (!runId.matches("[A-Za-z0-9._:-]{1,128}")) {
                throw new IllegalArgumentException("--run-id '" + runId + "': expected 1-128 letters, digits, . _ : -");
            }
            this.runId = runId;
            return;
        }
        this.runId = DateTimeFormatter.ofPattern("yyyyMMdd'T'HHmmss'Z'")
                        .withZone(ZoneOffset.UTC)
                        .format(startedAt) + "-" + UUID.randomUUID().toString().substring(0, 8);
    }

    /**
     * Writes this run to {@code <lake>/tables/job_runs}, keyed by (run_id, job): a rerun under the same run id
     * replaces its record. Returns the row written.
     */
    public Row record(SparkSession spark, LakePaths lake, String status) {
        Row row = RowFactory.create(
                runId,
                job,
                status,
                mode,
                Timestamp.from(startedAt),
                Timestamp.from(Instant.now()),
                configJson,
                counts,
                details,
                tableVersions,
                message);
        String path = lake.table(LakePaths.JOB_RUNS);
        var df = spark.createDataFrame(List.of(row), SCHEMA);
        if (!Delta.exists(spark, path)) {
            Delta.append(spark, path, df);
        } else {
            io.delta.tables.DeltaTable.forPath(spark, path)
                    .as("t")
                    .merge(df.as("s"), "t.run_id = s.run_id AND t.job = s.job")
                    .whenMatched()
                    .updateAll()
                    .whenNotMatched()
                    .insertAll()
                    .execute();
        }
        return row;
    }
}
