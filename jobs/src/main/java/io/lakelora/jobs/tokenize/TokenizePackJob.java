package io.lakelora.jobs.tokenize;

import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.current_timestamp;
import static org.apache.spark.sql.functions.explode;
import static org.apache.spark.sql.functions.lit;
import static org.apache.spark.sql.functions.pmod;
import static org.apache.spark.sql.functions.udf;
import static org.apache.spark.sql.functions.xxhash64;

import io.lakelora.config.ConfigLoader;
import io.lakelora.jobs.common.BaseModels;
import io.lakelora.jobs.common.Delta;
import io.lakelora.jobs.common.JobCommand;
import io.lakelora.jobs.common.JobRun;
import io.lakelora.jobs.common.LakePaths;
import io.lakelora.jobs.common.ProcessedFiles;
import io.lakelora.jobs.common.Schemas;
import io.lakelora.jobs.lake.LakeFs;
import io.lakelora.text.DocumentHash;
import io.lakelora.tokenizer.Tokenizer;
import io.lakelora.udfs.SharedTokenizers;
import io.lakelora.util.Fields;
import java.util.List;
import java.util.Map;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Encoders;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.api.java.UDF1;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.storage.StorageLevel;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Job 02 tokenize and pack: Delta {@code corpus_clean} -> Delta {@code token_blocks} (fixed-length blocks of input
 * ids, labels, position ids and document boundaries, with a deterministic train/eval split) and
 * {@code token_quarantine} (documents that could not be encoded or are longer than a block under
 * {@code pack.overflow: quarantine}).
 *
 * <p>Transforms ({@link #assignSplit}, {@link #tokenizeAndPack}) are pure {@code Dataset<Row> -> Dataset<Row>}
 * functions. Writes are Delta MERGEs on {@code block_id} (a hash of the block's split, size and segments) and on
 * {@code doc_id}, so reruns add nothing; documents already packed are skipped, so an incremental run packs only new
 * documents. The run (counts, token totals, table versions for the training job's lineage) goes to {@code job_runs}.
 *
 * <p>Run: {@code bin/lakelora tokenize-pack --config conf/02_tokenize_pack.yaml [key=value ...]}, or spark-submit
 * with this class as the main class and the same arguments.
 */
public final class TokenizePackJob {
    private static final Logger LOG = LoggerFactory.getLogger(TokenizePackJob.class);

    public static final String JOB = "02_tokenize_pack";

    /** Columns of token_blocks, in order. */
    public static final List<String> BLOCK_COLUMNS = List.of(
            "block_id",
            "split",
            "input_ids",
            "labels",
            "position_ids",
            "doc_boundaries",
            "segments",
            "n_tokens",
            "n_trained",
            "mask_mode",
            "block_size",
            "strategy",
            "tokenizer",
            "source_version",
            "run_id",
            "created_at");

    public static final List<String> QUARANTINE_COLUMNS =
            List.of("doc_id", "reason", "detail", "n_tokens", "tokenizer", "run_id", "quarantined_at");

    private TokenizePackJob() {}

    /** spark-submit entry point: the same arguments as {@code bin/lakelora tokenize-pack}. */
    public static void main(String[] args) {
        JobCommand.runMain("tokenize-pack", new TokenizePackCommand(), args);
    }

    /** What a run did. */
    public record Result(String runId, String status, Map<String, Long> counts, Map<String, Long> tableVersions) {
        public long count(String key) {
            return counts.getOrDefault(key, 0L);
        }

        /** Ordered fields for the CLI. */
        public Map<String, Object> asMap() {
            return Fields.of(this);
        }
    }

    public static Result run(SparkSession spark, TokenizeConfig cfg) {
        return run(spark, cfg, null);
    }

    /** Runs the job under a given run id (null: a new one); a rerun with the same id replaces its job_runs record. */
    public static Result run(SparkSession spark, TokenizeConfig cfg, String runId) {
        cfg.validate();
        LakePaths lake = new LakePaths(cfg.lake.root);
        JobRun run = new JobRun(JOB, runId);
        run.mode = cfg.mode;
        run.configJson = ConfigLoader.toJson(cfg);
        String source = lake.table(LakePaths.CORPUS_CLEAN);
        if (!Delta.exists(spark, source)) {
            throw new IllegalArgumentException(
                    "input " + source + " is not a Delta table. Fix: run job 01 (bin/lakelora "
                            + "prepare) with the same lake.root first");
        }
        // the tokenizer: given, or the lake copy of model.id; executors read it from the lake (LakeFs.local)
        // (on a copy: the caller's config keeps what it said)
        cfg = withTokenizer(
                cfg,
                cfg.model.tokenizer != null && !cfg.model.tokenizer.isBlank()
                        ? LakePaths.toUri(cfg.model.tokenizer)
                        : BaseModels.resolve(spark, lake, cfg.model.id, "model.id")
                                .lakePath());
        // check the model before any work (fails naming the path)
        String localTok = LakeFs.local(cfg.model.tokenizer, spark.sparkContext().hadoopConfiguration());
        Tokenizer tok = SharedTokenizers.get(localTok);
        io.lakelora.text.ExampleEncoder.padId(tok, cfg.pack.padTokenId);
        SharedTokenizers.template(localTok, cfg.template.override, cfg.template.fallback);
        long version = Delta.version(spark, source);
        long last = cfg.mode.equals("incremental") ? ProcessedFiles.lastVersion(spark, lake, JOB, source) : -1;
        LOG.info("[tokenize-pack] run " + run.runId + " mode " + cfg.mode + ": corpus_clean v" + version
                + (last >= 0 ? " (last processed v" + last + ")" : ""));
        if (last >= version) {
            return nothingNew(spark, lake, run, "corpus_clean v" + version + " already processed");
        }
        Dataset<Row> docs = last >= 0
                ? spark.read()
                        .format("delta")
                        .option("readChangeFeed", "true")
                        .option("startingVersion", last + 1)
                        .option("endingVersion", version)
                        .load(source)
                        .where(col("_change_type").isin("insert", "update_postimage"))
                        .drop("_change_type", "_commit_version", "_commit_timestamp")
                : spark.read().format("delta").option("versionAsOf", version).load(source);
        docs = withoutDone(spark, lake, docs);

        long t0 = System.nanoTime();
        Dataset<Row> packed = tokenizeAndPack(assignSplit(docs, cfg), cfg).persist(StorageLevel.MEMORY_AND_DISK());
        long docsRead = docs.count();
        for (Row r : packed.groupBy("record", "split", "reason")
                .agg(
                        org.apache.spark.sql.functions.count(lit(1)),
                        org.apache.spark.sql.functions.sum("n_tokens"),
                        org.apache.spark.sql.functions.sum("n_trained"))
                .collectAsList()) {
            if (r.getString(0).equals("block")) {
                String s = r.getString(1);
                run.counts.merge("blocks", r.getLong(3), Long::sum);
                run.counts.put("blocks." + s, r.getLong(3));
                run.counts.merge("tokens", r.getLong(4), Long::sum);
                run.counts.put("tokens." + s, r.getLong(4));
                run.counts.merge("trained_tokens", r.getLong(5), Long::sum);
            } else {
                run.counts.merge("docs_rejected", r.getLong(3), Long::sum);
                run.counts.put("reason." + r.getString(2), r.getLong(3));
            }
        }
        Row docsPacked = packed.where(col("record").equalTo("block"))
                .select(explode(col("segments")).as("s"))
                .where(col("s.piece").equalTo(0))
                .agg(
                        org.apache.spark.sql.functions.count(lit(1)),
                        org.apache.spark.sql.functions.countDistinct(col("s.doc_id")))
                .first();
        run.counts.put("docs_read", docsRead);
        run.counts.put("docs_packed", docsPacked.getLong(1));
        run.counts.putIfAbsent("docs_rejected", 0L);
        run.counts.putIfAbsent("blocks", 0L);
        run.counts.putIfAbsent("tokens", 0L);
        run.counts.putIfAbsent("trained_tokens", 0L);
        if (docsRead != run.counts.get("docs_packed") + run.counts.get("docs_rejected")) {
            throw new IllegalStateException("document counts do not reconcile: read " + docsRead + ", packed "
                    + run.counts.get("docs_packed") + ", rejected " + run.counts.get("docs_rejected"));
        }
        long t1 = System.nanoTime();
        LOG.info(String.format("[tokenize-pack] tokenize + pack: %.1f s", (t1 - t0) / 1e9));

        Dataset<Row> blocks = packed.where(col("record").equalTo("block"))
                .withColumn("block_size", lit(cfg.pack.blockSize))
                .withColumn("strategy", lit(cfg.pack.strategy))
                .withColumn("tokenizer", lit(cfg.model.tokenizer))
                .withColumn("source_version", lit(version))
                .withColumn("run_id", lit(run.runId))
                .withColumn("created_at", current_timestamp())
                .select(BLOCK_COLUMNS.stream().map(c -> col(c)).toArray(Column[]::new));
        Delta.Write wb = Delta.mergeInsertIfAny(
                spark,
                lake.table(LakePaths.TOKEN_BLOCKS),
                blocks,
                run.counts.get("blocks"),
                List.of("block_id"),
                Map.of());
        Dataset<Row> rejected = packed.where(col("record").equalTo("rejected"))
                .withColumn("tokenizer", lit(cfg.model.tokenizer))
                .withColumn("run_id", lit(run.runId))
                .withColumn("quarantined_at", current_timestamp())
                .select(QUARANTINE_COLUMNS.stream().map(c -> col(c)).toArray(Column[]::new));
        Delta.Write wq = Delta.mergeInsertIfAny(
                spark,
                lake.table(LakePaths.TOKEN_QUARANTINE),
                rejected,
                run.counts.get("docs_rejected"),
                List.of("doc_id"),
                Map.of());
        packed.unpersist();
        run.tableVersions.put(LakePaths.CORPUS_CLEAN, version);
        run.tableVersions.put(LakePaths.TOKEN_BLOCKS, wb.version());
        run.tableVersions.put(LakePaths.TOKEN_QUARANTINE, wq.version());
        run.counts.put("token_blocks.inserted", wb.inserted());
        ProcessedFiles.log(spark, lake, JOB, run.runId, List.of(new ProcessedFiles.InputFile(source, 0, version)));
        run.record(spark, lake, "succeeded");
        LOG.info(String.format("[tokenize-pack] Delta writes: %.1f s", (System.nanoTime() - t1) / 1e9));
        LOG.info("[tokenize-pack] docs read " + docsRead + " = packed " + run.counts.get("docs_packed") + " + rejected "
                + run.counts.get("docs_rejected") + "; " + run.counts.get("blocks") + " blocks, "
                + run.counts.get("tokens")
                + " tokens (" + run.counts.get("trained_tokens") + " trained)");
        LOG.info("[tokenize-pack] token_blocks v" + wb.version() + " (+" + wb.inserted() + ") from corpus_clean v"
                + version);
        return new Result(run.runId, "succeeded", run.counts, run.tableVersions);
    }

    private static Result nothingNew(SparkSession spark, LakePaths lake, JobRun run, String why) {
        run.counts.put("docs_read", 0L);
        run.message = why;
        run.record(spark, lake, "nothing_new");
        LOG.info("[tokenize-pack] nothing new: " + why);
        return new Result(run.runId, "nothing_new", run.counts, run.tableVersions);
    }

    /** Drops documents already in token_blocks or token_quarantine (so no document is packed twice). */
    static Dataset<Row> withoutDone(SparkSession spark, LakePaths lake, Dataset<Row> docs) {
        String blocks = lake.table(LakePaths.TOKEN_BLOCKS);
        if (Delta.exists(spark, blocks)) {
            Dataset<Row> done = spark.read()
                    .format("delta")
                    .load(blocks)
                    .select(explode(col("segments.doc_id")).as("doc_id"))
                    .distinct();
            docs = docs.join(done, docs.col("doc_id").equalTo(done.col("doc_id")), "left_anti");
        }
        String quarantine = lake.table(LakePaths.TOKEN_QUARANTINE);
        if (Delta.exists(spark, quarantine)) {
            Dataset<Row> bad = spark.read().format("delta").load(quarantine).select("doc_id");
            docs = docs.join(bad, docs.col("doc_id").equalTo(bad.col("doc_id")), "left_anti");
        }
        return docs;
    }

    /** Adds {@code split} = train | eval by document hash ({@link DocumentHash#split}). */
    public static Dataset<Row> assignSplit(Dataset<Row> docs, TokenizeConfig cfg) {
        Schemas.require(docs.schema(), "corpus_clean", List.of(Schemas.col("doc_id", DataTypes.StringType)));
        final double frac = cfg.split.evalFraction;
        final long seed = cfg.split.seed;
        return docs.withColumn(
                "split",
                udf((UDF1<String, String>) id -> DocumentHash.split(id, frac, seed), DataTypes.StringType)
                        .apply(col("doc_id")));
    }

    /**
     * Tokenizes and packs documents ({@code corpus_clean} rows with {@code split}): bucketed by doc_id hash into
     * {@code pack.partitions} groups, sorted by (split, doc_id) in each, then {@link TokenizePacker}. Returns the
     * union rows (record = block | rejected).
     */
    public static Dataset<Row> tokenizeAndPack(Dataset<Row> docs, TokenizeConfig cfg) {
        Schemas.require(
                docs.schema(),
                "corpus_clean",
                List.of(
                        Schemas.col("doc_id", DataTypes.StringType),
                        Schemas.col("split", DataTypes.StringType),
                        Schemas.col("kind", DataTypes.StringType),
                        Schemas.col("text", DataTypes.StringType),
                        Schemas.col("instruction", DataTypes.StringType),
                        Schemas.col("input", DataTypes.StringType),
                        Schemas.col("output", DataTypes.StringType),
                        Schemas.col("messages", Schemas.MESSAGES)));
        return docs.select("doc_id", "split", "kind", "text", "instruction", "input", "output", "messages")
                .repartition(cfg.pack.partitions, pmod(xxhash64(col("doc_id")), lit(cfg.pack.partitions)))
                .sortWithinPartitions("split", "doc_id")
                .mapPartitions(new TokenizePacker(cfg), Encoders.row(TokenizePacker.OUT));
    }

    /** A copy of {@code cfg} with {@code model.tokenizer} set to {@code location}. */
    static TokenizeConfig withTokenizer(TokenizeConfig cfg, String location) {
        try {
            java.io.ByteArrayOutputStream buf = new java.io.ByteArrayOutputStream();
            try (java.io.ObjectOutputStream out = new java.io.ObjectOutputStream(buf)) {
                out.writeObject(cfg);
            }
            try (java.io.ObjectInputStream in =
                    new java.io.ObjectInputStream(new java.io.ByteArrayInputStream(buf.toByteArray()))) {
                TokenizeConfig c = (TokenizeConfig) in.readObject();
                c.model.tokenizer = location;
                return c;
            }
        } catch (java.io.IOException | ClassNotFoundException e) {
            throw new IllegalStateException("copying the config", e);
        }
    }
}
