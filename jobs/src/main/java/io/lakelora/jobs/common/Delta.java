package io.lakelora.jobs.common;

import io.delta.tables.DeltaTable;
import java.util.List;
import java.util.Map;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.StructType;

/**
 * Idempotent Delta writes: create the table when missing, then MERGE new rows on a key ({@code whenNotMatched
 * insertAll}), so a rerun on the same input inserts nothing. Reports the resulting table version and what the MERGE
 * did (from the table history), for the job-run record and the next job's lineage.
 */
public final class Delta {
    private Delta() {}

    /** Version written and rows inserted by one {@link #mergeInsert}. */
    public record Write(String table, long version, long inserted) {}

    /** Creates the table at {@code path} with {@code schema} and table properties unless it exists. */
    public static DeltaTable createIfNotExists(
            SparkSession spark, String path, StructType schema, Map<String, String> properties) {
        var b = DeltaTable.createIfNotExists(spark).location(path).addColumns(schema);
        for (Map.Entry<String, String> e : properties.entrySet()) b = b.property(e.getKey(), e.getValue());
        return b.execute();
    }

    public static boolean exists(SparkSession spark, String path) {
        return readingLog(path, () -> DeltaTable.isDeltaTable(spark, path));
    }

    /**
     * Runs {@code read} (something that reads the table's {@code _delta_log}) and names what went wrong: an I/O
     * failure (unreachable store, permissions) stays an I/O error (exit 4); anything else Delta throws while reading
     * the log means the log is not a valid Delta log (exit 3, with the fix).
     */
    public static <T> T readingLog(String path, java.util.function.Supplier<T> read) {
        try {
            return read.get();
        } catch (IllegalArgumentException e) {
            throw e;
        } catch (Exception e) { // Scala code throws checked exceptions (SparkException) undeclared
            for (Throwable t = e; t != null; t = t.getCause()) {
                if (t instanceof java.io.IOException io
                        && !(t instanceof java.io.FileNotFoundException)
                        && !t.getClass().getName().contains("Json")
                        && !(t instanceof org.apache.hadoop.fs.ChecksumException)) {
                    throw new java.io.UncheckedIOException(
                            "reading the Delta log of " + path + ": " + io.getMessage()
                                    + ". Fix: check that the lake is reachable (endpoint, network, credentials) and retry",
                            io);
                }
            }
            String what = String.valueOf(e.getMessage()).lines().findFirst().orElse(e.toString());
            throw new io.lakelora.error.BadInputException(
                    "Delta table " + path + ": its _delta_log cannot be read ("
                            + what + "). Fix: restore the table's _delta_log (from a backup or your storage's object "
                            + "versions), or delete the table directory and rerun the job that writes it",
                    e);
        }
    }

    /**
     * Inserts the rows of {@code rows} whose {@code keys} are not in the table yet (creating the table, with
     * {@code properties}, when missing). The key columns must identify a row (duplicates within {@code rows} must be
     * removed before).
     */
    public static Write mergeInsert(
            SparkSession spark, String path, Dataset<Row> rows, List<String> keys, Map<String, String> properties) {
        long before = version(spark, path);
        DeltaTable t = createIfNotExists(spark, path, rows.schema(), properties);
        if (before < 0) { // a new, empty table: nothing to match, a plain append is the same and much cheaper
            return append(spark, path, rows);
        }
        StringBuilder cond = new StringBuilder();
        for (String k : keys) {
            if (cond.length() > 0) cond.append(" AND ");
            cond.append("t.`").append(k).append("` = s.`").append(k).append('`');
        }
        t.as("t")
                .merge(rows.as("s"), cond.toString())
                .whenNotMatched()
                .insertAll()
                .execute();
        Write w = lastWrite(spark, path);
        // a MERGE that changes nothing commits no version: report 0 inserted at the unchanged version
        return w.version() == before ? new Write(path, before, 0) : w;
    }

    /** {@link #mergeInsert} when {@code rowCount > 0}; otherwise only makes sure the table exists. */
    public static Write mergeInsertIfAny(
            SparkSession spark,
            String path,
            Dataset<Row> rows,
            long rowCount,
            List<String> keys,
            Map<String, String> properties) {
        if (rowCount > 0) return mergeInsert(spark, path, rows, keys, properties);
        createIfNotExists(spark, path, rows.schema(), properties);
        return new Write(path, version(spark, path), 0);
    }

    /** Appends rows (for logs such as job_runs). */
    public static Write append(SparkSession spark, String path, Dataset<Row> rows) {
        rows.write().format("delta").mode("append").save(path);
        return lastWrite(spark, path);
    }

    /** The latest version and its inserted/added row count. */
    public static Write lastWrite(SparkSession spark, String path) {
        Row h = DeltaTable.forPath(spark, path)
                .history(1)
                .select("version", "operation", "operationMetrics")
                .first();
        Map<String, String> m = h.getJavaMap(2);
        String n = m.getOrDefault("numTargetRowsInserted", m.getOrDefault("numOutputRows", "0"));
        String op = h.getString(1);
        long inserted = op.equals("CREATE TABLE") ? 0 : Long.parseLong(n);
        return new Write(path, h.getLong(0), inserted);
    }

    /** The current version of a table, or -1 when it does not exist. */
    public static long version(SparkSession spark, String path) {
        if (!exists(spark, path)) return -1;
        return readingLog(
                path,
                () -> DeltaTable.forPath(spark, path)
                        .history(1)
                        .select("version")
                        .first()
                        .getLong(0));
    }
}
