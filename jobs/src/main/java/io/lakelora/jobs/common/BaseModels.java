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
 * them), with a pointer file per id ({@link #pointer}). Jobs 02, 03 and 05 and the SQL functions resolve
 * {@code model.id} through the pointer, so executors read the model from the lake through the Hadoop FileSystem and
 * need no local path, and a wrong id fails on the driver before any Spark work.
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

    /** One registered base model (also the pointer file's JSON). */
    public record Entry(
            String modelId,
            String lakePath,
            String quant,
            String sourceUri,
            String sourceSha256,
            String sha256,
            String fingerprint,
            String runId) {}

    private BaseModels() {}

    private static final com.fasterxml.jackson.databind.ObjectMapper JSON =
            new com.fasterxml.jackson.databind.ObjectMapper();

    /**
     * The pointer file of a model id, {@code <lake>/models/_ids/<id>.json}: what {@link #resolve} reads, through the
     * Hadoop FileSystem alone, so that a job checks its model before any Spark work (the Delta table is the record
     * for lineage and SQL; both are written by job 00).
     */
    public static String pointer(LakePaths lake, String modelId) {
        return lake.root() + "/models/_ids/" + modelId + ".json";
    }

    /** Records (or replaces) the lake copy of {@code e.modelId()}: the Delta row and the pointer file. */
    public static void record(SparkSession spark, LakePaths lake, Entry e) {
        try {
            new io.lakelora.jobs.lake.LakeFs(spark.sparkContext().hadoopConfiguration())
                    .writeAtomic(
                            pointer(lake, e.modelId()),
                            JSON.writerWithDefaultPrettyPrinter().writeValueAsBytes(e));
        } catch (com.fasterxml.jackson.core.JsonProcessingException x) {
            throw new IllegalStateException(x);
        }
        Row row = RowFactory.create(
                e.modelId(),
                e.lakePath(),
                e.quant(),
                e.sourceUri(),
                e.sourceSha256(),
                e.sha256(),
                e.fingerprint(),
                e.runId(),
                Timestamp.from(Instant.now()));
        String path = lake.table(TABLE);
        var df = spark.createDataFrame(List.of(row), SCHEMA);
        if (!Delta.exists(spark, path)) {
            Delta.append(spark, path, df);
        } else {
            DeltaTable.forPath(spark, path)
                    .as("t")
                    .merge(df.as("s"), "t.model_id = s.model_id")
                    .whenMatched()
                    .updateAll()
                    .whenNotMatched()
                    .insertAll()
                    .execute();
        }
    }

    /** The entry for {@code modelId}, if job 00 recorded one on this lake (its pointer file; no Spark job). */
    public static Optional<Entry> find(SparkSession spark, LakePaths lake, String modelId) {
        io.lakelora.jobs.lake.LakeFs fs =
                new io.lakelora.jobs.lake.LakeFs(spark.sparkContext().hadoopConfiguration());
        String p = pointer(lake, modelId);
        if (!fs.exists(p)) return Optional.empty();
        try {
            return Optional.of(JSON.readValue(fs.readJson(p), Entry.class));
        } catch (java.io.IOException e) {
            throw new io.lakelora.error.BadInputException(
                    "model pointer " + p + " is not valid JSON (" + e.getMessage()
                            + "). Fix: rerun job 00 (quantize-base) with model.id=" + modelId + " to rewrite it",
                    e);
        }
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
        String dir = lake.root() + "/models/_ids";
        for (String f : new io.lakelora.jobs.lake.LakeFs(spark.sparkContext().hadoopConfiguration()).list(dir)) {
            if (f.endsWith(".json")) known.add(f.substring(0, f.length() - ".json".length()));
        }
        throw new IllegalArgumentException("config key '" + key + "' is '" + modelId + "' but job 00 recorded "
                + (known.isEmpty()
                        ? "no base model on lake.root " + lake.root()
                        : "only " + known + " on lake.root " + lake.root())
                + " (" + lake.table(TABLE) + "). Fix: run job 00 (quantize-base) with model.id="
                + modelId + " on this lake.root first, correct the id, or point model.path at a model directory");
    }
}
