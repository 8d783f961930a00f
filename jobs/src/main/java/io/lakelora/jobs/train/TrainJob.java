package io.lakelora.jobs.train;

import static org.apache.spark.sql.functions.col;

import io.lakelora.config.ConfigLoader;
import io.lakelora.jobs.common.BaseModels;
import io.lakelora.jobs.common.Delta;
import io.lakelora.jobs.common.LakePaths;
import io.lakelora.jobs.common.Schemas;
import io.lakelora.jobs.lake.LakeFs;
import io.lakelora.jobs.registry.AdapterRecord;
import io.lakelora.jobs.registry.AdapterRegistry;
import io.lakelora.jobs.runtime.DataParallelStep;
import io.lakelora.jobs.runtime.ExecutorModelCache;
import io.lakelora.jobs.runtime.LoraLlamaFactory;
import io.lakelora.jobs.runtime.TokenBlock;
import io.lakelora.kernel.KernelProvider;
import io.lakelora.lora.AdapterState;
import io.lakelora.lora.LoraInit;
import io.lakelora.model.Generator;
import io.lakelora.model.LlamaLoader;
import io.lakelora.model.LlamaSession;
import io.lakelora.model.LlamaWeights;
import io.lakelora.model.LoraAdapter;
import io.lakelora.model.ModelConfig;
import io.lakelora.model.ModelDir;
import io.lakelora.peft.PeftAdapter;
import io.lakelora.report.RunReport;
import io.lakelora.tokenizer.Tokenizer;
import io.lakelora.train.DataOrder;
import io.lakelora.train.OptimizerStep;
import io.lakelora.train.StepMetric;
import io.lakelora.util.Fields;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Timestamp;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import scala.Tuple2;

/**
 * Job 03 train adapter: Delta {@code token_blocks} at a pinned version -> data-parallel QLoRA on the executors ->
 * checkpoints in the lake -> a new version in the Delta adapter registry (lineage, resolved config, metrics, weights)
 * + the PEFT files + a run report. Extract (read and check the table) / transform (train) / load (register).
 *
 * <p>The run id is derived from the resolved config and the data version unless given: rerunning the same job resumes
 * from its last checkpoint, and rerunning a finished job registers nothing new.
 */
public final class TrainJob {
    private static final Logger LOG = LoggerFactory.getLogger(TrainJob.class);

    static final StructType METRICS_SCHEMA = new StructType()
            .add("run_id", DataTypes.StringType, false)
            .add("adapter_name", DataTypes.StringType, false)
            .add("step", DataTypes.LongType, false)
            .add("loss", DataTypes.DoubleType, true)
            .add("lr", DataTypes.DoubleType, true)
            .add("grad_norm", DataTypes.DoubleType, true)
            .add("tokens", DataTypes.LongType, true)
            .add("tokens_per_second", DataTypes.DoubleType, true)
            .add("step_seconds", DataTypes.DoubleType, true)
            .add("compute_seconds", DataTypes.DoubleType, true)
            .add("eval_loss", DataTypes.DoubleType, true)
            .add("logged_at", DataTypes.TimestampType, false);

    private TrainJob() {}

    /** What the job did, printed by the CLI and returned to notebooks. */
    public record Outcome(
            @Fields.Key("adapter") String adapterName,
            @Fields.Skip int version,
            boolean created,
            String runId,
            String registry,
            @Fields.Key("dataset") String datasetTable,
            @Fields.Skip long datasetVersion,
            String peftPath,
            @Fields.Key("report") String reportPath,
            String checkpoints,
            String metricsTable,
            double trainLoss,
            double evalLoss,
            long steps,
            long tokens,
            double wallSeconds,
            long resumedFromStep) {
        public Map<String, Object> asMap() {
            Map<String, Object> m = Fields.of(this);
            m.put("adapter", adapterName + "@" + version);
            m.put("dataset", datasetTable + "@v" + datasetVersion);
            return m;
        }
    }

    /**
     * Job 03 in three parts: {@link #plan} (reads only: the pinned data version and its schema, the base, the run id
     * and the step count), {@link #train} (the Spark data-parallel loop with checkpoints and metrics) and
     * {@link #publish} (PEFT files, registry version, report). A finished run (same run id in the registry) is
     * reported, not trained again.
     */
    public static Outcome run(SparkSession spark, TrainJobConfig cfg, String runIdOverride) {
        cfg.validate();
        long t0 = System.nanoTime();
        Plan plan = plan(spark, cfg, runIdOverride);
        Outcome done = alreadyRegistered(spark, plan, t0);
        if (done != null) return done;
        Trained trained = train(spark, plan);
        return publish(spark, plan, trained, t0);
    }

    /** What a run will do, decided before any training: everything {@link #train} and {@link #publish} need. */
    public record Plan(
            TrainJobConfig cfg,
            LakePaths lake,
            String table,
            long version,
            String modelUri,
            JavaRDD<TokenBlock> train,
            JavaRDD<TokenBlock> eval,
            int nTrain,
            long nEval,
            LoraLlamaFactory factory,
            Path localModel,
            ModelConfig mc,
            String baseSha,
            DataOrder order,
            long steps,
            String resolvedJson,
            String runId,
            String registryRoot,
            String runDir,
            String metricsTable) {}

    /** Resolves the data, the base, the run id and the step count; checks the inputs. Reads, never writes. */
    public static Plan plan(SparkSession spark, TrainJobConfig cfg, String runIdOverride) {
        LakePaths lake = new LakePaths(cfg.lake.root);
        // ---- extract: the pinned token_blocks snapshot
        String table = cfg.data.table != null ? LakePaths.toUri(cfg.data.table) : lake.table(LakePaths.TOKEN_BLOCKS);
        if (!Delta.exists(spark, table)) {
            throw new IllegalArgumentException("data.table " + table + " is not a Delta table. Fix: run job 02 "
                    + "(bin/lakelora tokenize-pack) on lake.root=" + lake.root() + " first, or set data.table");
        }
        long version = cfg.data.version != null ? cfg.data.version : Delta.version(spark, table);
        // the base: model.path, or the lake copy job 00 recorded for model.id (executors read it from the lake)
        String modelUri = cfg.model.path != null && !cfg.model.path.isBlank()
                ? LakePaths.toUri(cfg.model.path)
                : BaseModels.resolve(spark, lake, cfg.model.id, "model.id").lakePath();
        Dataset<Row> blocks =
                spark.read().format("delta").option("versionAsOf", version).load(table);
        Schemas.require(
                blocks.schema(),
                "data.table " + table,
                List.of(
                        Schemas.col("block_id", DataTypes.StringType),
                        Schemas.col("split", DataTypes.StringType),
                        Schemas.col("input_ids", DataTypes.createArrayType(DataTypes.IntegerType)),
                        Schemas.col("labels", DataTypes.createArrayType(DataTypes.IntegerType)),
                        Schemas.col("position_ids", DataTypes.createArrayType(DataTypes.IntegerType))));
        JavaRDD<TokenBlock> train = indexed(blocks.filter(col("split").equalTo("train")));
        JavaRDD<TokenBlock> eval = indexed(blocks.filter(col("split").equalTo("eval")));
        int nTrain = (int) train.count();
        long nEval = eval.count();
        if (nTrain == 0) {
            throw new IllegalArgumentException("data.table " + table + "@v" + version + " has no 'train' blocks. Fix: "
                    + "run job 02 on a corpus, or check split.eval_fraction");
        }

        // ---- the model: the driver reads the config and tokenizer facts; executors load the weights themselves
        LoraLlamaFactory factory = new LoraLlamaFactory(modelUri, cfg.modelSpec());
        Path localModel = factory.localModelDir();
        ModelConfig mc = LlamaLoader.config(localModel); // also reads bases quantized by job 00
        String baseSha = weightsSha256(localModel);

        int globalBlocks = cfg.train.globalBatchBlocks;
        if (cfg.train.globalBatchTokens > 0) {
            int blockLen = train.first().inputIds().length;
            globalBlocks = Math.toIntExact((cfg.train.globalBatchTokens + blockLen - 1) / blockLen);
            LOG.info(
                    "[train] global batch {} tokens = {} blocks of {}",
                    cfg.train.globalBatchTokens,
                    globalBlocks,
                    blockLen);
        }
        DataOrder order = new DataOrder(nTrain, Math.min(globalBlocks, nTrain), cfg.train.seed);
        long steps = cfg.train.steps > 0
                ? cfg.train.steps
                : Math.max(1, (long) Math.floor(cfg.train.epochs * order.stepsPerEpoch()));
        String resolvedJson = ConfigLoader.toJson(cfg);
        String runId = runIdOverride != null && !runIdOverride.isBlank()
                ? runIdOverride
                : cfg.train.runId != null
                        ? cfg.train.runId
                        : "run-"
                                + sha256(trainingIdentity(cfg) + "|" + table + "@" + version + "|" + baseSha)
                                        .substring(0, 16);
        if (!runId.matches("[A-Za-z0-9][A-Za-z0-9._-]{0,127}")) {
            throw new IllegalArgumentException("run id '" + runId + "': expected letters, digits, '.', '_' or '-'");
        }
        String registryRoot = lake.root() + "/registry";
        String runDir = lake.root() + "/runs/" + cfg.train.adapterName + "/" + runId;
        String metricsTable = lake.table(LakePaths.TRAIN_METRICS);
        LOG.info(
                "[train] run {}: {}@v{} ({} train / {} eval blocks), base {} ({}, sha256 {}), {} steps of {} "
                        + "blocks on {} workers",
                runId,
                table,
                version,
                nTrain,
                nEval,
                cfg.model.id,
                cfg.model.quant,
                baseSha.substring(0, 12),
                steps,
                order.globalBatch(),
                cfg.train.workers);

        return new Plan(
                cfg,
                lake,
                table,
                version,
                modelUri,
                train,
                eval,
                nTrain,
                nEval,
                factory,
                localModel,
                mc,
                baseSha,
                order,
                steps,
                resolvedJson,
                runId,
                registryRoot,
                runDir,
                metricsTable);
    }

    /** The registry's record of this run, when it finished before (rerunning registers nothing new); else null. */
    static Outcome alreadyRegistered(SparkSession spark, Plan plan, long t0) {
        TrainJobConfig cfg = plan.cfg();
        String table = plan.table();
        long version = plan.version();
        JavaRDD<TokenBlock> train = plan.train();
        long steps = plan.steps();
        String runId = plan.runId();
        String registryRoot = plan.registryRoot();
        String runDir = plan.runDir();
        String metricsTable = plan.metricsTable();
        AdapterRegistry registry = new AdapterRegistry(spark, registryRoot);
        // rerunning a finished job registers nothing new
        registry.ensureTables();
        List<Row> done = spark.read()
                .format("delta")
                .load(registry.adaptersPath())
                .filter(col("adapter_name")
                        .equalTo(cfg.train.adapterName)
                        .and(col("run_id").equalTo(runId)))
                .drop("adapter_safetensors")
                .collectAsList();
        if (!done.isEmpty()) {
            Row r = done.get(0);
            LOG.info(
                    "[train] run {} is already registered as {}@{}: nothing to do",
                    runId,
                    cfg.train.adapterName,
                    r.getInt(r.fieldIndex("version")));
            return new Outcome(
                    cfg.train.adapterName,
                    r.getInt(r.fieldIndex("version")),
                    false,
                    runId,
                    registryRoot,
                    table,
                    version,
                    r.getString(r.fieldIndex("peft_path")),
                    runDir + "/report",
                    runDir + "/checkpoints",
                    metricsTable,
                    r.getDouble(r.fieldIndex("train_loss")),
                    r.getDouble(r.fieldIndex("eval_loss")),
                    r.getLong(r.fieldIndex("steps")),
                    r.getLong(r.fieldIndex("tokens")),
                    (System.nanoTime() - t0) / 1e9,
                    steps);
        }

        return null;
    }

    /** The trained adapter state, the trainer's result and the step metrics of the run. */
    record Trained(AdapterState state, SparkTrainer.Result result, List<StepMetric> series, String checkpointsDir) {}

    /** Trains (resuming from the run's last checkpoint), writing step metrics as it goes. */
    static Trained train(SparkSession spark, Plan plan) {
        TrainJobConfig cfg = plan.cfg();
        String table = plan.table();
        long version = plan.version();
        JavaRDD<TokenBlock> train = plan.train();
        JavaRDD<TokenBlock> eval = plan.eval();
        long nEval = plan.nEval();
        LoraLlamaFactory factory = plan.factory();
        ModelConfig mc = plan.mc();
        DataOrder order = plan.order();
        long steps = plan.steps();
        String runId = plan.runId();
        String runDir = plan.runDir();
        String metricsTable = plan.metricsTable();
        LakeFs fs = new LakeFs(spark.sparkContext().hadoopConfiguration());
        JavaSparkContext jsc = JavaSparkContext.fromSparkContext(spark.sparkContext());
        // ---- transform: train
        AdapterState state = new AdapterState(factory.spec().layout(mc));
        LoraInit.initialize(state, cfg.lora, cfg.train.seed, null, null);
        OptimizerStep optimizer = new OptimizerStep(cfg.optimizer, cfg.schedule.build(cfg.optimizer.lr(), steps));
        CheckpointStore checkpoints = new CheckpointStore(fs, runDir + "/checkpoints", cfg.train.keepCheckpoints);
        String configHash =
                sha256(trainingIdentity(cfg) + "|" + table + "@" + version).substring(0, 16);
        SparkTrainer.Result result;
        String adapterName = cfg.train.adapterName;
        try (DataParallelStep dp = new DataParallelStep(
                jsc, train, cfg.train.workers, factory, order, cfg.train.microBatch, cfg.faults.failTaskAtStep)) {
            SparkTrainer trainer = new SparkTrainer(
                    jsc,
                    dp,
                    nEval > 0 ? eval : null,
                    factory,
                    optimizer,
                    new SparkTrainer.Settings(
                            runId,
                            steps,
                            cfg.train.evalInterval,
                            cfg.train.checkpointInterval,
                            cfg.train.seed,
                            cfg.train.microBatch,
                            configHash,
                            cfg.train.sync.equals("local_sgd") ? cfg.train.localSteps : 1,
                            new DataParallelStep.OptimizerSpec(cfg.optimizer, optimizer.schedule())),
                    checkpoints,
                    ms -> writeMetrics(spark, metricsTable, runId, adapterName, ms));
            result = trainer.run(state);
        } finally {
            train.unpersist(false);
        }
        List<StepMetric> series = readMetrics(spark, metricsTable, runId);

        return new Trained(state, result, series, checkpoints.dir());
    }

    /** Writes the PEFT files, registers the version and writes the run report. */
    static Outcome publish(SparkSession spark, Plan plan, Trained trained, long t0) {
        TrainJobConfig cfg = plan.cfg();
        String table = plan.table();
        long version = plan.version();
        JavaRDD<TokenBlock> train = plan.train();
        LoraLlamaFactory factory = plan.factory();
        Path localModel = plan.localModel();
        String baseSha = plan.baseSha();
        long steps = plan.steps();
        String resolvedJson = plan.resolvedJson();
        String runId = plan.runId();
        String registryRoot = plan.registryRoot();
        String runDir = plan.runDir();
        String metricsTable = plan.metricsTable();
        LakeFs fs = new LakeFs(spark.sparkContext().hadoopConfiguration());
        AdapterRegistry registry = new AdapterRegistry(spark, registryRoot);
        AdapterState state = trained.state();
        SparkTrainer.Result result = trained.result();
        List<StepMetric> series = trained.series();
        String adapterName = cfg.train.adapterName;
        // ---- load: PEFT files, registry version, report
        Path tmp = tempDir();
        Path peftLocal = tmp.resolve("peft");
        PeftAdapter.save(peftLocal, cfg.lora, state.layout(), state.params(), cfg.model.id);
        String peftPath = runDir + "/peft";
        fs.uploadDir(peftLocal, peftPath);
        byte[] weights = readBytes(peftLocal.resolve(PeftAdapter.WEIGHTS_FILE));
        String adapterConfig =
                new String(readBytes(peftLocal.resolve(PeftAdapter.CONFIG_FILE)), StandardCharsets.UTF_8);
        double trainLoss = result.lastTrainLoss();
        double tokensPerSecond = series.isEmpty()
                ? 0
                : series.stream()
                        .mapToDouble(StepMetric::tokensPerSecond)
                        .average()
                        .orElse(0);
        AdapterRecord rec = new AdapterRecord(
                adapterName,
                runId,
                cfg.model.id,
                baseSha,
                table,
                version,
                resolvedJson,
                cfg.lora.r(),
                cfg.lora.loraAlpha(),
                cfg.lora.targets().stream().map(t -> t.peftName()).sorted().toList(),
                trainLoss,
                result.evalLoss(),
                result.tokens(),
                steps,
                result.wallSeconds(),
                weights,
                adapterConfig,
                peftPath);
        AdapterRegistry.Registered reg = registry.register(rec);

        String reportPath = runDir + "/report";
        try {
            List<RunReport.Sample> samples = samples(localModel, factory, cfg, state);
            List<RunReport.StepPoint> points = series.stream()
                    .map(m -> new RunReport.StepPoint(
                            m.step(), m.loss(), Double.isNaN(m.evalLoss()) ? null : m.evalLoss(), m.lr()))
                    .collect(Collectors.toList());
            RunReport report = new RunReport(
                    adapterName,
                    reg.version(),
                    resolvedJson,
                    new RunReport.Lineage(cfg.model.id, baseSha, table, version, runId),
                    new RunReport.Metrics(
                            trainLoss,
                            result.evalLoss(),
                            Math.exp(result.evalLoss()),
                            result.tokens(),
                            steps,
                            result.wallSeconds(),
                            tokensPerSecond),
                    points,
                    samples);
            report.writeTo(tmp.resolve("report"));
            fs.uploadDir(tmp.resolve("report"), reportPath);
        } catch (RuntimeException e) {
            LOG.warn("[train] the run report could not be written ({})", e.getMessage());
        }
        LOG.info(
                "[train] registered {}@{} (run {}); PEFT adapter {}; report {}",
                adapterName,
                reg.version(),
                runId,
                peftPath,
                reportPath);
        return new Outcome(
                adapterName,
                reg.version(),
                reg.created(),
                runId,
                registryRoot,
                table,
                version,
                peftPath,
                reportPath,
                trained.checkpointsDir(),
                metricsTable,
                trainLoss,
                result.evalLoss(),
                steps,
                result.tokens(),
                (System.nanoTime() - t0) / 1e9,
                result.resumedFromStep());
    }

    /**
     * The lineage hash of the base weights: ModelDir's (sha256 of model.safetensors, or of the shard list) for a plain
     * HF directory; for a base quantized by job 00, the same rule over its own weight files.
     */
    static String weightsSha256(Path dir) {
        if (LlamaLoader.storedQuantization(dir) == null)
            return ModelDir.open(dir).weightsSha256();
        Path single = dir.resolve("model.safetensors");
        if (Files.exists(single)) return ModelDir.sha256(single);
        try (var files = Files.list(dir)) {
            StringBuilder sb = new StringBuilder();
            for (Path f : files.filter(f -> f.getFileName().toString().endsWith(".safetensors"))
                    .sorted()
                    .toList()) {
                sb.append(ModelDir.sha256(f))
                        .append("  ")
                        .append(f.getFileName())
                        .append('\n');
            }
            return sha256(sb.toString());
        } catch (IOException e) {
            throw new UncheckedIOException("listing " + dir, e);
        }
    }

    /**
     * What defines a training run's result: model, LoRA, optimizer, schedule and the train section except the worker
     * layout (workers, threads, micro-batch change only the fp32 summation order; with local SGD workers count). Spark, S3 and report settings are
     * infrastructure: changing them resumes the same run instead of starting a new one.
     */
    static String trainingIdentity(TrainJobConfig cfg) {
        Map<String, Object> id = new LinkedHashMap<>();
        id.put("model", cfg.model);
        id.put("lora", cfg.lora);
        id.put("optimizer", cfg.optimizer);
        id.put("schedule", cfg.schedule);
        TrainJobConfig.Train t = cfg.train;
        id.put(
                "train",
                List.of(
                        t.adapterName,
                        t.steps,
                        t.epochs,
                        t.globalBatchBlocks,
                        t.globalBatchTokens,
                        t.sync,
                        t.localSteps,
                        t.seed,
                        t.evalInterval,
                        t.checkpointInterval));
        if (t.sync.equals("local_sgd")) id.put("workers", t.workers); // local SGD averages per-worker trajectories
        return ConfigLoader.toJson(id);
    }

    /** Blocks ordered by block_id get dense indices 0..N-1: the data order is independent of file layout. */
    static JavaRDD<TokenBlock> indexed(Dataset<Row> blocks) {
        return blocks.select("block_id", "input_ids", "labels", "position_ids")
                .orderBy("block_id")
                .javaRDD()
                .zipWithIndex()
                .map((Tuple2<Row, Long> t) -> {
                    Row r = t._1();
                    return new TokenBlock(
                            Math.toIntExact(t._2()), ints(r, 1), ints(r, 2), r.isNullAt(3) ? null : ints(r, 3));
                });
    }

    private static int[] ints(Row r, int i) {
        List<Integer> l = r.getList(i);
        int[] out = new int[l.size()];
        for (int k = 0; k < out.length; k++) out[k] = l.get(k);
        return out;
    }

    static void writeMetrics(SparkSession spark, String path, String runId, String adapter, List<StepMetric> ms) {
        if (ms.isEmpty()) return;
        List<Row> rows = new ArrayList<>();
        Timestamp now = Timestamp.from(Instant.now());
        for (StepMetric m : ms) {
            rows.add(RowFactory.create(
                    runId,
                    adapter,
                    m.step(),
                    m.loss(),
                    m.lr(),
                    m.gradNorm(),
                    m.tokens(),
                    m.tokensPerSecond(),
                    m.stepSeconds(),
                    m.computeSeconds(),
                    Double.isNaN(m.evalLoss()) ? null : m.evalLoss(),
                    now));
        }
        Delta.mergeInsert(
                spark, path, spark.createDataFrame(rows, METRICS_SCHEMA), List.of("run_id", "step"), Map.of());
    }

    static List<StepMetric> readMetrics(SparkSession spark, String path, String runId) {
        if (!Delta.exists(spark, path)) return List.of();
        List<StepMetric> out = new ArrayList<>();
        for (Row r : spark.read()
                .format("delta")
                .load(path)
                .filter(col("run_id").equalTo(runId))
                .orderBy("step")
                .collectAsList()) {
            out.add(new StepMetric(
                    r.getLong(r.fieldIndex("step")),
                    r.getDouble(r.fieldIndex("loss")),
                    r.getDouble(r.fieldIndex("lr")),
                    r.getDouble(r.fieldIndex("grad_norm")),
                    r.getLong(r.fieldIndex("tokens")),
                    r.getDouble(r.fieldIndex("tokens_per_second")),
                    r.getDouble(r.fieldIndex("step_seconds")),
                    r.getDouble(r.fieldIndex("compute_seconds")),
                    r.isNullAt(r.fieldIndex("eval_loss")) ? Double.NaN : r.getDouble(r.fieldIndex("eval_loss"))));
        }
        return out;
    }

    /**
     * Greedy generations from the report prompts with the base and with the adapter, on the driver, with the base
     * held as the executors hold it (quantized: an 8B base needs ~5 GB here, not 32). {@code report.prompts: []}
     * skips them.
     */
    static List<RunReport.Sample> samples(
            Path modelDir, LoraLlamaFactory factory, TrainJobConfig cfg, AdapterState state) {
        if (cfg.report.prompts.isEmpty()) return List.of();
        LlamaWeights w = ExecutorModelCache.base(factory, new String[0]); // shared in local mode
        List<RunReport.Sample> out = new ArrayList<>();
        try (Tokenizer tok = Tokenizer.load(modelDir)) {
            Set<Integer> eos = java.util.Arrays.stream(tok.eosIds()).boxed().collect(Collectors.toSet());
            int cap = Math.min(w.arch().maxPositionEmbeddings(), 512);
            LoraAdapter adapter = new LoraAdapter(factory.spec().withoutDropout(), state.layout(), state.params());
            for (String p : cfg.report.prompts) {
                int[] ids = tok.encode(p, true);
                int n = Math.max(1, Math.min(cfg.report.maxNewTokens, cap - ids.length));
                Generator.Config g = Generator.Config.greedy(n, eos);
                String base = tok.decode(
                        Generator.generate(new LlamaSession(w, KernelProvider.get(), null, cap, 64), ids, g, null)
                                .tokens(),
                        true);
                String tuned = tok.decode(
                        Generator.generate(new LlamaSession(w, KernelProvider.get(), adapter, cap, 64), ids, g, null)
                                .tokens(),
                        true);
                out.add(new RunReport.Sample(p, base, tuned));
            }
        }
        return out;
    }

    private static Path tempDir() {
        try {
            return Files.createTempDirectory("lakelora-train");
        } catch (IOException e) {
            throw new UncheckedIOException("creating a temp directory", e);
        }
    }

    private static byte[] readBytes(Path p) {
        try {
            return Files.readAllBytes(p);
        } catch (IOException e) {
            throw new UncheckedIOException("reading " + p, e);
        }
    }

    static String sha256(String s) {
        return io.lakelora.util.Hashes.sha256Hex(s);
    }
}
