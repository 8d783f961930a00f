package io.lakelora.jobs.common;

import io.delta.tables.DeltaTable;
import java.sql.Timestamp;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;

/**
 * The {@code base_models} Delta table ({@code <lake>/tables/base_models}, keyed by {@code model_id}): where job 00
 * put each base model's lake copy (quantized weights with the tokenizer, chat template and config files beside
 * them). Jobs 02, 03 and 05 and the SQL functions resolve {@code model.id} through it, so executors read the model
 * from the lake through the Hadoop FileSystem and need no local path.
 */
public final class BaseModels {
    public static final String TABLE = "base_models";
    public static final StructType SCHEMA = new StructType()
            .add("model_id", DataTypes.StringType, false)
            .add("lake_path", DataTypes.StringType, false)
            .add("quant", DataTypes.StringType, false)
            .add("source_uri", DataTypes.StringType, false)
            .add("source_sha256", DataTypes.StringType, true)
            .add("sha256", DataTypes.StringType, true)
            .add("fingerprint", DataTypes.StringType, true)
            .add("run_id", DataTypes.StringType, true)
            .add("updated_at", DataTypes.TimestampType, false);

    /** One registered base model. */
    public record Entry(String modelId, String lakePath, String quant, String sourceUri, String sourceSha256,
                        String sha256, String fingerprint, String runId) {}

    private BaseModels() {}

    /** Records (or replaces) the lake copy of {@code e.modelId()}. */
    public static void record(SparkSession spark, LakePaths lake, Entry e) {
        Row row = RowFactory.create(e.modelId(), e.lakePath(), e.quant(), e.sourceUri(), e.sourceSha256(), e.sha256(),
                e.fingerprint(), e.runId(), Timestamp.from(Instant.now()));
        String path = lake.table(TABLE);
        var df = spark.createDataFrame(List.of(row), SCHEMA);
        if (!Delta.exists(spark, path)) {
            Delta.append(spark, path, df);
        } else {
            DeltaTable.forPath(spark, path).as("t").merge(df.as("s"), "t.model_id = s.model_id")
                    .whenMatched().updateAll().whenNotMatched().insertAll().execute();
        }
    }

    /** The entry for {@code modelId}, if job 00 recorded one on this lake. */
    public static Optional<Entry> find(SparkSession spark, LakePaths lake, String modelId) {
        String path = lake.table(TABLE);
        if (!Delta.exists(spark, path)) return Optional.empty();
        List<Row> rows = spark.read().format("delta").load(path).where(
                org.apache.spark.sql.functions.col("model_id").equalTo(modelId)).collectAsList();
        if (rows.isEmpty()) return Optional.empty();
        Row r = rows.get(0);
        return Optional.of(new Entry(r.getString(0), r.getString(1), r.getString(2), r.getString(3), r.getString(4),
                r.getString(5), r.getString(6), r.getString(7)));
    }

    /**
     * The lake copy of {@code modelId}; fails naming the key, the table, the ids it holds and the fix.
     *
     * @param key the config key the id came from (for the message), e.g. {@code model.id}
     */
    public static Entry resolve(SparkSession spark, LakePaths lake, String modelId, String key) {
        if (modelId == null || modelId.isBlank()) {
            throw new IllegalArgumentException("config key '" + key + "' is empty. Fix: set it to the id job 00 "
                    + "(quantize-base) recorded in " + lake.table(TABLE) + ", or set model.path");
        }
        Optional<Entry> e = find(spark, lake, modelId);
        if (e.isPresent()) return e.get();
        List<String> known = new ArrayList<>();
        String path = lake.table(TABLE);
        if (Delta.exists(spark, path)) {
            for (Row r : spark.read().format("delta").load(path).select("model_id").collectAsList()) {
                known.add(r.getString(0));
            }
        }
        throw new IllegalArgumentException("config key '" + key + "' is '" + modelId + "' but " + path
                + (known.isEmpty() ? " does not exist or is empty" : " holds only " + known) + ". Fix: run job 00 "
                + "(quantize-base) with model.id=" + modelId + " on this lake.root first, correct the id, or point "
                + "model.path at a model directory");
    }
}
