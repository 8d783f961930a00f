package io.lakelora.jobs.evaluate;

import static org.apache.spark.sql.functions.col;

import io.lakelora.jobs.common.Delta;
import io.lakelora.jobs.common.LakePaths;
import io.lakelora.jobs.common.Schemas;
import io.lakelora.report.RunReport;
import java.util.ArrayList;
import java.util.List;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;

/**
 * The per-step loss series of a training run, from the Delta table {@code train_metrics} that job 03 writes (columns
 * run_id, step, loss, lr, eval_loss), for the run report's loss curve. Empty when the table does not exist.
 */
public final class TrainMetrics {
    public static final String TABLE = LakePaths.TRAIN_METRICS;

    private TrainMetrics() {}

    public static List<RunReport.StepPoint> series(SparkSession spark, String table, String runId) {
        List<RunReport.StepPoint> out = new ArrayList<>();
        if (runId == null || !Delta.exists(spark, table)) return out;
        var t = spark.read().format("delta").load(table);
        Schemas.require(
                t.schema(),
                table,
                List.of(
                        Schemas.col("run_id", null),
                        Schemas.col("step", null),
                        Schemas.col("loss", null),
                        Schemas.col("lr", null),
                        Schemas.col("eval_loss", null)));
        // a resumed run may have written a step twice: one point per step
        List<Row> rows = t.where(col("run_id").equalTo(runId))
                .select(
                        col("step").cast("long").as("step"),
                                col("loss").cast("double").as("loss"),
                        col("lr").cast("double").as("lr"),
                                col("eval_loss").cast("double").as("eval_loss"))
                .dropDuplicates("step")
                .orderBy("step")
                .collectAsList();
        for (Row r : rows) {
            if (r.isNullAt(0)) continue;
            Double ev = r.isNullAt(3) || Double.isNaN(r.getDouble(3)) ? null : r.getDouble(3);
            out.add(new RunReport.StepPoint(
                    r.getLong(0),
                    r.isNullAt(1) ? Double.NaN : r.getDouble(1),
                    ev,
                    r.isNullAt(2) ? Double.NaN : r.getDouble(2)));
        }
        return out;
    }
}
