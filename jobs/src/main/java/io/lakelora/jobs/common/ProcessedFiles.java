package io.lakelora.jobs.common;

import java.sql.Timestamp;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;

/**
 * The log of input files (and Delta table versions) a job has processed, Delta table {@code processed_files}: an
 * incremental run skips every file whose (path, size, modification time) is already logged, so a scheduled run on a
 * growing corpus does the new work only. A file that changed in place (new size or time) is processed again.
 */
public final class ProcessedFiles {
    public static final StructType SCHEMA = new StructType()
            .add("job", DataTypes.StringType, false)
            .add("path", DataTypes.StringType, false)
            .add("size", DataTypes.LongType, false)
            .add("modification_time", DataTypes.LongType, false)
            .add("run_id", DataTypes.StringType, false)
            .add("processed_at", DataTypes.TimestampType, false);

    /** An input file as listed: path, size in bytes, modification time (ms since epoch; a Delta version for tables). */
    public record InputFile(String path, long size, long modificationTime) {}

    private ProcessedFiles() {}

    /** The files of {@code listed} not yet logged for {@code job}. */
    public static List<InputFile> unseen(SparkSession spark, LakePaths lake, String job, List<InputFile> listed) {
        String path = lake.table(LakePaths.PROCESSED_FILES);
        if (!Delta.exists(spark, path)) return listed;
        Set<InputFile> seen = new HashSet<>();
        for (Row r : spark.read()
                .format("delta")
                .load(path)
                .where(org.apache.spark.sql.functions.col("job").equalTo(job))
                .select("path", "size", "modification_time")
                .collectAsList()) {
            seen.add(new InputFile(r.getString(0), r.getLong(1), r.getLong(2)));
        }
        List<InputFile> out = new ArrayList<>();
        for (InputFile f : listed) if (!seen.contains(f)) out.add(f);
        return out;
    }

    /** The largest logged modification time of a path (for Delta inputs: the last processed version), or -1. */
    public static long lastVersion(SparkSession spark, LakePaths lake, String job, String inputPath) {
        String path = lake.table(LakePaths.PROCESSED_FILES);
        if (!Delta.exists(spark, path)) return -1;
        Row r = spark.read()
                .format("delta")
                .load(path)
                .where(org.apache
                        .spark
                        .sql
                        .functions
                        .col("job")
                        .equalTo(job)
                        .and(org.apache.spark.sql.functions.col("path").equalTo(inputPath)))
                .agg(org.apache.spark.sql.functions.max("modification_time"))
                .first();
        return r.isNullAt(0) ? -1 : r.getLong(0);
    }

    /** Logs the files as processed by {@code runId}; files logged before (same path, size, time) are not added again. */
    public static void log(SparkSession spark, LakePaths lake, String job, String runId, List<InputFile> files) {
        files = unseen(spark, lake, job, files);
        if (files.isEmpty()) return;
        Timestamp now = Timestamp.from(Instant.now());
        List<Row> rows = new ArrayList<>();
        for (InputFile f : files)
            rows.add(RowFactory.create(job, f.path(), f.size(), f.modificationTime(), runId, now));
        Delta.append(spark, lake.table(LakePaths.PROCESSED_FILES), spark.createDataFrame(rows, SCHEMA));
    }
}
