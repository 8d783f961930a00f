package io.lakelora.jobs.prepare;

import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.current_timestamp;
import static org.apache.spark.sql.functions.explode;
import static org.apache.spark.sql.functions.lit;
import static org.apache.spark.sql.functions.row_number;
import static org.apache.spark.sql.functions.size;
import static org.apache.spark.sql.functions.struct;
import static org.apache.spark.sql.functions.substring;
import static org.apache.spark.sql.functions.udf;
import static org.apache.spark.sql.functions.when;

import io.lakelora.config.ConfigLoader;
import io.lakelora.jobs.common.Delta;
import io.lakelora.jobs.common.JobRun;
import io.lakelora.jobs.common.LakePaths;
import io.lakelora.jobs.common.ProcessedFiles;
import io.lakelora.jobs.common.ProcessedFiles.InputFile;
import io.lakelora.jobs.common.Schemas;
import io.lakelora.text.Shingles;
import io.lakelora.util.Fields;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.spark.ml.feature.HashingTF;
import org.apache.spark.ml.feature.MinHashLSH;
import org.apache.spark.ml.feature.MinHashLSHModel;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Encoders;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.api.java.UDF1;
import org.apache.spark.sql.expressions.UserDefinedFunction;
import org.apache.spark.sql.expressions.Window;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.storage.StorageLevel;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Job 01 prepare corpus: corpora in the lake -> Delta {@code corpus_clean} (normalized, PII-scrubbed, filtered,
 * deduplicated documents) and {@code corpus_quarantine} (rows that failed, as read, with the reason).
 *
 * <p>Extract ({@link CorpusReader}) -> transform ({@link #extract}, {@link #clean}, {@link #classify}: pure
 * {@code Dataset<Row> -> Dataset<Row>} functions, callable from a notebook) -> load (Delta MERGE on {@code doc_id}
 * and on the quarantined row's source position, so reruns add nothing). Every row read ends in exactly one outcome:
 * kept, quarantined, exact_duplicate or near_duplicate; the counts are printed, checked to reconcile, and recorded
 * in {@code job_runs} with the table versions written. In incremental mode only input files not in
 * {@code processed_files} (or Delta versions after the last one processed) are read.
 *
 * <p>Run: {@code bin/lakelora prepare --config conf/01_prepare_corpus.yaml [key=value ...]}, or spark-submit with
 * this class as the main class and the same arguments.
 */
public final class PrepareCorpusJob {
    private static final Logger LOG = LoggerFactory.getLogger(PrepareCorpusJob.class);

    public static final String JOB = "01_prepare_corpus";
    public static final String KEPT = "kept";
    public static final String QUARANTINED = "quarantined";
    public static final String EXACT_DUP = "exact_duplicate";
    public static final String NEAR_DUP = "near_duplicate";
    public static final List<String> OUTCOMES = List.of(KEPT, QUARANTINED, EXACT_DUP, NEAR_DUP);

    /** Columns of corpus_clean, in order. */
    public static final List<String> CLEAN_COLUMNS = List.of(
            "doc_id",
            "kind",
            "text",
            "instruction",
            "input",
            "output",
            "messages",
            "char_count",
            "pii_counts",
            "source",
            "source_file",
            "source_row",
            "source_format",
            "run_id",
            "ingested_at");
    /** Columns of corpus_quarantine, in order. */
    public static final List<String> QUARANTINE_COLUMNS = List.of(
            "source",
            "source_file",
            "source_row",
            "source_format",
            "raw",
            "reason",
            "detail",
            "run_id",
            "quarantined_at");

    private PrepareCorpusJob() {}

    /** spark-submit entry point: the same arguments as {@code bin/lakelora prepare}. */
    public static void main(String[] args) {
        io.lakelora.jobs.common.JobCommand.runMain("prepare", new PrepareCommand(), args);
    }

    /** What a run did. */
    public record Result(
            String runId,
            String status,
            Map<String, Long> counts,
            Map<String, Long> details,
            Map<String, Long> tableVersions) {
        public long read() {
            return counts.getOrDefault("rows_read", 0L);
        }

        public long count(String outcome) {
            return counts.getOrDefault(outcome, 0L);
        }

        /** Ordered fields for the CLI. */
        public Map<String, Object> asMap() {
            return Fields.of(this);
        }
    }

    /** Runs the job on a session (see {@link io.lakelora.jobs.common.SparkSessions}). */
    public static Result run(SparkSession spark, PrepareConfig cfg) {
        return run(spark, cfg, null);
    }

    /** Runs the job under a given run id (null: a new one); a rerun with the same id replaces its job_runs record. */
    public static Result run(SparkSession spark, PrepareConfig cfg, String runId) {
        cfg.validate();
        LakePaths lake = new LakePaths(cfg.lake.root);
        JobRun run = new JobRun(JOB, runId);
        run.mode = cfg.mode;
        run.configJson = ConfigLoader.toJson(cfg);
        LOG.info("[prepare] run " + run.runId + " mode " + cfg.mode + " lake " + lake.root());

        // extract: list files (new ones only when incremental), read raw rows
        List<InputFile> processed = new ArrayList<>();
        Dataset<Row> raw = null;
        Map<String, PrepareConfig.Input> byName = new LinkedHashMap<>();
        Map<String, List<InputFile>> listings = new LinkedHashMap<>();
        for (int i = 0; i < cfg.inputs.size(); i++) { // check every input before reading any
            PrepareConfig.Input in = cfg.inputs.get(i);
            List<InputFile> listed = CorpusReader.list(spark, in);
            CorpusReader.preflight(spark, in, i, listed);
            listings.put(in.name, listed);
        }
        for (PrepareConfig.Input in : cfg.inputs) {
            byName.put(in.name, in);
            List<InputFile> listed = listings.get(in.name);
            Dataset<Row> part;
            if (in.format.equals("delta")) {
                InputFile table = listed.get(0);
                long last = cfg.mode.equals("incremental")
                        ? ProcessedFiles.lastVersion(spark, lake, JOB, table.path())
                        : -1;
                if (last >= table.modificationTime()) {
                    LOG.info("[prepare] input " + in.name + ": Delta version " + table.modificationTime()
                            + " already done");
                    continue;
                }
                part = CorpusReader.readDelta(spark, in, table.path(), table.modificationTime(), last);
                processed.add(table);
            } else {
                List<InputFile> todo =
                        cfg.mode.equals("incremental") ? ProcessedFiles.unseen(spark, lake, JOB, listed) : listed;
                LOG.info("[prepare] input " + in.name + ": " + listed.size() + " file(s), " + todo.size() + " to read");
                if (todo.isEmpty()) continue;
                part = CorpusReader.read(spark, in, todo, cfg.maxRowChars);
                processed.addAll(todo);
            }
            raw = raw == null ? part : raw.unionByName(part);
        }
        if (raw == null) {
            for (String o : OUTCOMES) run.counts.put(o, 0L);
            run.counts.put("rows_read", 0L);
            run.message = "no new input";
            run.record(spark, lake, "nothing_new");
            LOG.info("[prepare] nothing new to read");
            return new Result(run.runId, "nothing_new", run.counts, run.details, run.tableVersions);
        }

        // transform
        Dataset<Row> cleaned = clean(extract(raw, byName), cfg).persist(StorageLevel.MEMORY_AND_DISK());
        String cleanPath = lake.table(LakePaths.CORPUS_CLEAN);
        Dataset<Row> existing = Delta.exists(spark, cleanPath)
                ? spark.read()
                        .format("delta")
                        .load(cleanPath)
                        .select(col("doc_id"), flatText().as("flat_text"))
                : null;
        String sigPath = lake.table(LakePaths.CORPUS_MINHASH);
        String sigKey = signatureKey(cfg.dedup.near);
        Dataset<Row> cachedSigs = existing != null && cfg.dedup.near.enabled && Delta.exists(spark, sigPath)
                ? spark.read()
                        .format("delta")
                        .load(sigPath)
                        .where(col("sig_key").equalTo(sigKey))
                        .select("doc_id", "shingle_ids", "_mh")
                : null;
        Signatures sigs = new Signatures(cachedSigs);
        Dataset<Row> classified =
                classify(cleaned, existing, cfg.dedup.near, sigs).persist(StorageLevel.MEMORY_AND_DISK());

        long t0 = System.nanoTime();
        // counts (one pass over the classified rows)
        for (String o : OUTCOMES) run.counts.put(o, 0L);
        long read = 0;
        for (Row r : classified.groupBy("outcome", "reason").count().collectAsList()) {
            String outcome = r.getString(0);
            run.counts.merge(outcome, r.getLong(2), Long::sum);
            if (outcome.equals(QUARANTINED)) run.details.put("reason." + r.getString(1), r.getLong(2));
            read += r.getLong(2);
        }
        run.counts.put("rows_read", read);
        for (Row r : classified
                .where(col("outcome").equalTo(KEPT))
                .select(explode(col("pii_counts")))
                .groupBy("key")
                .sum("value")
                .collectAsList()) {
            run.details.put("pii." + r.getString(0), r.getLong(1));
        }
        long sum = 0;
        for (String o : OUTCOMES) sum += run.counts.get(o);
        if (sum != read) {
            throw new IllegalStateException("counts do not reconcile: read " + read + " but outcomes sum to " + sum);
        }

        long t1 = System.nanoTime();
        LOG.info(String.format("[prepare] read + clean + dedup: %.1f s", (t1 - t0) / 1e9));
        // load
        Dataset<Row> kept = classified
                .where(col("outcome").equalTo(KEPT))
                .withColumn("run_id", lit(run.runId))
                .withColumn("ingested_at", current_timestamp())
                .select(CLEAN_COLUMNS.stream().map(c -> col(c)).toArray(Column[]::new));
        Delta.Write wClean = Delta.mergeInsertIfAny(
                spark,
                cleanPath,
                kept,
                run.counts.get(KEPT),
                List.of("doc_id"),
                Map.of("delta.enableChangeDataFeed", "true"));
        Dataset<Row> quarantined = classified
                .where(col("outcome").equalTo(QUARANTINED))
                .withColumn("raw", substring(col("raw"), 1, Math.max(cfg.quarantineRawChars, 1)))
                .withColumn("run_id", lit(run.runId))
                .withColumn("quarantined_at", current_timestamp())
                .select(QUARANTINE_COLUMNS.stream().map(c -> col(c)).toArray(Column[]::new));
        Delta.Write wQuar = Delta.mergeInsertIfAny(
                spark,
                lake.table(LakePaths.CORPUS_QUARANTINE),
                quarantined,
                run.counts.get(QUARANTINED),
                List.of("source_file", "source_row"),
                Map.of());
        run.tableVersions.put(LakePaths.CORPUS_CLEAN, wClean.version());
        run.tableVersions.put(LakePaths.CORPUS_QUARANTINE, wQuar.version());
        run.details.put("corpus_clean.inserted", wClean.inserted());
        run.details.put("corpus_quarantine.inserted", wQuar.inserted());
        if (sigs.computed != null) {
            // keep the signatures of the documents now in corpus_clean (new kept ones, and existing ones that were
            // not cached yet), so the next incremental run computes only its new documents'
            Dataset<Row> keep = sigs.computed
                    .join(
                            classified.where(col("outcome").equalTo(KEPT)).select("doc_id"),
                            new String[] {"doc_id"},
                            "left_semi")
                    .unionByName(sigs.computed.where(col("is_new").equalTo(0)))
                    .select(col("doc_id"), lit(sigKey).as("sig_key"), col("shingle_ids"), col("_mh"));
            long n = keep.count();
            Delta.Write wSig = Delta.mergeInsertIfAny(spark, sigPath, keep, n, List.of("doc_id", "sig_key"), Map.of());
            run.tableVersions.put(LakePaths.CORPUS_MINHASH, wSig.version());
            run.details.put("minhash.computed", sigs.computedCount);
            run.details.put("minhash.cached", sigs.cachedCount);
            sigs.computed.unpersist();
        }
        ProcessedFiles.log(spark, lake, JOB, run.runId, processed);
        run.details.put("files", (long) processed.size());
        cleaned.unpersist();
        classified.unpersist();
        LOG.info(String.format("[prepare] Delta writes: %.1f s", (System.nanoTime() - t1) / 1e9));
        run.record(spark, lake, "succeeded");
        LOG.info("[prepare] read " + read + " = kept " + run.counts.get(KEPT) + " + quarantined "
                + run.counts.get(QUARANTINED) + " + exact duplicates " + run.counts.get(EXACT_DUP)
                + " + near duplicates " + run.counts.get(NEAR_DUP));
        LOG.info("[prepare] " + LakePaths.CORPUS_CLEAN + " v" + wClean.version() + " (+" + wClean.inserted() + "), "
                + LakePaths.CORPUS_QUARANTINE + " v" + wQuar.version() + " (+" + wQuar.inserted() + ")");
        return new Result(run.runId, "succeeded", run.counts, run.details, run.tableVersions);
    }

    /** Raw rows -> documents with fields checked ({@link RowExtractor}). */
    public static Dataset<Row> extract(Dataset<Row> raw, Map<String, PrepareConfig.Input> inputs) {
        Schemas.require(
                raw.schema(),
                "raw rows",
                List.of(
                        Schemas.col("source", DataTypes.StringType),
                        Schemas.col("source_file", DataTypes.StringType),
                        Schemas.col("source_row", DataTypes.LongType),
                        Schemas.col("source_format", DataTypes.StringType),
                        Schemas.col("raw", DataTypes.StringType),
                        Schemas.col("read_error", DataTypes.StringType),
                        Schemas.col("detail", DataTypes.StringType)));
        return raw.select(
                        CorpusReader.RAW.fieldNames()[0],
                        java.util.Arrays.copyOfRange(CorpusReader.RAW.fieldNames(), 1, CorpusReader.RAW.size()))
                .map(new RowExtractor(inputs), Encoders.row(RowExtractor.EXTRACTED));
    }

    /** Documents -> normalized, PII-scrubbed, filtered, hashed ({@link RowCleaner}). */
    public static Dataset<Row> clean(Dataset<Row> extracted, PrepareConfig cfg) {
        Schemas.require(
                extracted.schema(),
                "extracted rows",
                List.of(
                        Schemas.col("kind", DataTypes.StringType),
                        Schemas.col("messages", Schemas.MESSAGES),
                        Schemas.col("reason", DataTypes.StringType)));
        return extracted
                .select(java.util.Arrays.stream(RowExtractor.EXTRACTED.fieldNames())
                        .map(c -> col(c))
                        .toArray(Column[]::new))
                .map(new RowCleaner(cfg.normalize, cfg.pii, cfg.filters), Encoders.row(RowCleaner.CLEANED));
    }

    /**
     * Gives every cleaned row its {@code outcome}: quarantined (it has a reason), exact_duplicate (its doc_id is in
     * {@code existing} or an earlier row of this run has it, "earlier" = smaller (source, source_file, source_row)),
     * near_duplicate (MinHash LSH finds an existing document, or an earlier one of this run, with Jaccard similarity
     * >= threshold; see {@link #nearDuplicates}) or kept. Adds {@code duplicate_of} (the doc_id it duplicates).
     *
     * @param existing doc_id and flat_text of corpus_clean, or null when the table does not exist yet
     * @param sigs     cached signatures of existing documents in, the computed ones out (the caller unpersists them)
     */
    static Dataset<Row> classify(
            Dataset<Row> cleaned, Dataset<Row> existing, PrepareConfig.Near near, Signatures sigs) {
        Schemas.require(
                cleaned.schema(),
                "cleaned rows",
                List.of(
                        Schemas.col("doc_id", DataTypes.StringType),
                        Schemas.col("flat_text", DataTypes.StringType),
                        Schemas.col("reason", DataTypes.StringType),
                        Schemas.col("source_row", DataTypes.LongType)));
        Column ok = col("reason").isNull();
        Dataset<Row> ranked = cleaned.withColumn(
                "_rank",
                row_number()
                        .over(Window.partitionBy(col("doc_id"), ok).orderBy("source", "source_file", "source_row")));
        if (existing != null) {
            ranked = ranked.join(
                    existing.select(col("doc_id"), lit(true).as("_exists")), new String[] {"doc_id"}, "left");
        } else {
            ranked = ranked.withColumn("_exists", lit(false));
        }
        Column exactDup = ok.and(col("_rank").gt(1).or(col("_exists").equalTo(true)));
        Dataset<Row> staged = ranked.withColumn(
                        "outcome",
                        when(col("reason").isNotNull(), QUARANTINED)
                                .when(exactDup, EXACT_DUP)
                                .otherwise(KEPT))
                .withColumn("duplicate_of", when(exactDup, col("doc_id")))
                .drop("_rank", "_exists");
        if (!near.enabled) return staged;
        Dataset<Row> candidates = staged.where(col("outcome").equalTo(KEPT));
        Dataset<Row> nearDups = nearDuplicates(candidates, existing, near, sigs);
        return staged.join(nearDups, new String[] {"doc_id"}, "left")
                .withColumn(
                        "outcome",
                        when(col("outcome").equalTo(KEPT).and(col("_near_of").isNotNull()), NEAR_DUP)
                                .otherwise(col("outcome")))
                .withColumn(
                        "duplicate_of",
                        when(col("outcome").equalTo(NEAR_DUP), col("_near_of")).otherwise(col("duplicate_of")))
                .drop("_near_of");
    }

    /**
     * Signatures (sorted hashed-shingle ids and MinHash values) of existing documents from {@code corpus_minhash}, and
     * after {@link #nearDuplicates} those it computed (new documents and existing ones missing from the cache,
     * persisted; {@code is_new} 1/0) with their counts. The hash functions depend only on the settings in
     * {@link #signatureKey}, so a cached signature equals a recomputed one.
     */
    static final class Signatures {
        final Dataset<Row> cached; // doc_id, shingle_ids, _mh, or null
        Dataset<Row> computed; // doc_id, shingle_ids, _mh, is_new
        long computedCount;
        long cachedCount;

        Signatures(Dataset<Row> cached) {
            this.cached = cached;
        }
    }

    /** The settings that determine a document's signature. */
    static String signatureKey(PrepareConfig.Near near) {
        return near.shingle + ":" + near.shingleSize + ":" + near.numFeatures + ":" + near.numHashTables + ":"
                + near.seed;
    }

    /**
     * Near duplicates among {@code candidates} (doc_id unique, with flat_text and source position), also against
     * {@code existing}: shingles -> hashed binary vectors (HashingTF) -> MinHash values (MLlib MinHashLSH) -> bands of
     * {@code band_rows} values -> pairs sharing a band -> exact Jaccard of their shingle vectors >= threshold. A
     * candidate is dropped when such a partner comes first (an existing document, or one with a smaller (source,
     * source_file, source_row)); chains drop every later member, deterministically. Returns doc_id and
     * {@code _near_of} (the first such partner). Signatures of existing documents come from {@code sigs.cached} when
     * there; the ones computed here are left in {@code sigs}.
     */
    static Dataset<Row> nearDuplicates(
            Dataset<Row> candidates, Dataset<Row> existing, PrepareConfig.Near near, Signatures sigs) {
        final boolean words = near.shingle.equals("word");
        final int k = near.shingleSize;
        UserDefinedFunction shingles = udf(
                (UDF1<String, List<String>>) t -> new ArrayList<>(words ? Shingles.words(t, k) : Shingles.chars(t, k)),
                DataTypes.createArrayType(DataTypes.StringType));
        Dataset<Row> fresh = candidates.select(
                col("doc_id"),
                shingles.apply(col("flat_text")).as("sh"),
                lit(1).as("is_new"),
                col("source"),
                col("source_file"),
                col("source_row"));
        Dataset<Row> toSign = fresh;
        Dataset<Row> cachedExisting = null;
        if (existing != null) {
            Dataset<Row> ex = existing;
            if (sigs.cached != null) {
                cachedExisting = existing.select("doc_id")
                        .join(sigs.cached, new String[] {"doc_id"}, "inner")
                        .select(
                                col("doc_id"),
                                col("shingle_ids"),
                                col("_mh"),
                                lit(0).as("is_new"),
                                lit("").as("source"),
                                lit("").as("source_file"),
                                lit(0L).as("source_row"));
                ex = existing.join(sigs.cached.select("doc_id"), new String[] {"doc_id"}, "left_anti");
            }
            toSign = fresh.unionByName(ex.select(
                    col("doc_id"),
                    shingles.apply(col("flat_text")).as("sh"),
                    lit(0).as("is_new"),
                    lit("").as("source"),
                    lit("").as("source_file"),
                    lit(0L).as("source_row")));
        }
        HashingTF tf = new HashingTF()
                .setInputCol("sh")
                .setOutputCol("features")
                .setNumFeatures(near.numFeatures)
                .setBinary(true);
        Dataset<Row> feats = tf.transform(toSign).where(size(col("sh")).gt(0)).drop("sh");
        MinHashLSHModel model = new MinHashLSH()
                .setNumHashTables(near.numHashTables)
                .setSeed(near.seed)
                .setInputCol("features")
                .setOutputCol("hashes")
                .fit(feats);
        UserDefinedFunction ids = udf(
                (UDF1<org.apache.spark.ml.linalg.Vector, int[]>)
                        v -> v.toSparse().indices(),
                DataTypes.createArrayType(DataTypes.IntegerType));
        Dataset<Row> computed = model.transform(feats)
                .withColumn(
                        "hashes",
                        org.apache.spark.sql.functions.transform(
                                col("hashes"),
                                h -> org.apache
                                        .spark
                                        .ml
                                        .functions
                                        .vector_to_array(h, "float64")
                                        .getItem(0)))
                .withColumnRenamed("hashes", "_mh")
                .withColumn("shingle_ids", ids.apply(col("features")))
                .drop("features")
                .persist(StorageLevel.MEMORY_AND_DISK());
        sigs.computed = computed;
        sigs.computedCount = computed.count();
        Dataset<Row> signed = computed;
        if (cachedExisting != null) {
            sigs.cachedCount = cachedExisting.count();
            signed = computed.unionByName(cachedExisting);
        }
        int bands = near.numHashTables / near.bandRows;
        Column bandKeys = org.apache.spark.sql.functions.expr("transform(sequence(0, " + (bands - 1) + "), b -> "
                + "concat(b, ':', array_join(slice(_mh, b * " + near.bandRows + " + 1, " + near.bandRows + "), ',')))");
        Dataset<Row> bandsAll = signed.select(col("doc_id"), explode(bandKeys).as("band"));
        Dataset<Row> bandsNew = signed.where(col("is_new").equalTo(1))
                .select(col("doc_id"), explode(bandKeys).as("band"));
        Dataset<Row> cand = bandsNew.as("a")
                .join(bandsAll.as("b"), "band")
                .where(col("a.doc_id").notEqual(col("b.doc_id")))
                .select(col("a.doc_id").as("a_id"), col("b.doc_id").as("b_id"))
                .distinct();
        Dataset<Row> info = signed.select(
                col("doc_id"), col("shingle_ids"), col("is_new"), col("source"), col("source_file"), col("source_row"));
        UserDefinedFunction jaccard = udf(
                (org.apache.spark.sql.api.java.UDF2<
                                scala.collection.Seq<Integer>, scala.collection.Seq<Integer>, Double>)
                        PrepareCorpusJob::jaccard,
                DataTypes.DoubleType);
        Dataset<Row> pairs = cand.join(info.toDF("a_id", "a_f", "a_new", "a_src", "a_file", "a_row"), "a_id")
                .join(info.toDF("b_id", "b_f", "b_new", "b_src", "b_file", "b_row"), "b_id")
                .where(jaccard.apply(col("a_f"), col("b_f")).geq(near.threshold));
        Column bFirst = col("b_new")
                .equalTo(0)
                .or(struct(col("b_src"), col("b_file"), col("b_row"))
                        .lt(struct(col("a_src"), col("a_file"), col("a_row"))));
        return pairs.where(bFirst)
                .select(
                        col("a_id").as("doc_id"),
                        struct(
                                        col("b_new"),
                                        col("b_src"),
                                        col("b_file"),
                                        col("b_row"),
                                        col("b_id").as("id"))
                                .as("_b"))
                .groupBy("doc_id")
                .agg(org.apache.spark.sql.functions.min("_b").getField("id").as("_near_of"));
    }

    /** Exact Jaccard similarity of two sets of hashed shingle ids (sorted ascending, as a sparse vector's indices). */
    static double jaccard(scala.collection.Seq<Integer> a, scala.collection.Seq<Integer> b) {
        int[] x = new int[a.size()];
        int[] y = new int[b.size()];
        for (int i = 0; i < x.length; i++) x[i] = a.apply(i);
        for (int i = 0; i < y.length; i++) y[i] = b.apply(i);
        return jaccard(x, y);
    }

    /** Exact Jaccard similarity of two sorted sets of ints. */
    static double jaccard(int[] x, int[] y) {
        int i = 0;
        int j = 0;
        int inter = 0;
        while (i < x.length && j < y.length) {
            if (x[i] == y[j]) {
                inter++;
                i++;
                j++;
            } else if (x[i] < y[j]) {
                i++;
            } else {
                j++;
            }
        }
        int union = x.length + y.length - inter;
        return union == 0 ? 1.0 : (double) inter / union;
    }

    /** The text a document is compared by: its text, or its fields/turns joined by newlines (as RowCleaner builds it). */
    public static Column flatText() {
        Column instr = when(
                        col("input").equalTo(""),
                        org.apache.spark.sql.functions.concat_ws("\n", col("instruction"), col("output")))
                .otherwise(org.apache.spark.sql.functions.concat_ws(
                        "\n", col("instruction"), col("input"), col("output")));
        return when(col("kind").equalTo("text"), col("text"))
                .when(col("kind").equalTo("instruction"), instr)
                .otherwise(org.apache.spark.sql.functions.array_join(col("messages.content"), "\n"));
    }
}
