package io.lakelora.jobs.evaluate;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.lakelora.config.ConfigLoader;
import io.lakelora.jobs.common.BaseModels;
import io.lakelora.jobs.common.Delta;
import io.lakelora.jobs.common.JobCommand;
import io.lakelora.jobs.common.JobRun;
import io.lakelora.jobs.common.LakePaths;
import io.lakelora.jobs.lake.LakeFs;
import io.lakelora.jobs.registry.AdapterRegistry;
import io.lakelora.jobs.runtime.AdapterExport;
import io.lakelora.jobs.runtime.AdapterPaths;
import io.lakelora.jobs.runtime.AdapterVersion;
import io.lakelora.jobs.runtime.DataParallelStep;
import io.lakelora.jobs.runtime.LoraLlamaFactory;
import io.lakelora.jobs.runtime.TokenBlock;
import io.lakelora.jobs.serve.BaseModelCheck;
import io.lakelora.jobs.serve.LoraServing;
import io.lakelora.jobs.serve.ServeTarget;
import io.lakelora.lora.LoraConfig;
import io.lakelora.model.LlamaLoader;
import io.lakelora.model.LoraModelBuilder;
import io.lakelora.model.ModelDir;
import io.lakelora.peft.PeftAdapter;
import io.lakelora.quant.QuantType;
import io.lakelora.report.RunReport;
import io.lakelora.train.LossSum;
import io.lakelora.util.Fields;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.storage.StorageLevel;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Job 05 evaluate: one adapter version -> its eval loss and perplexity on a pinned token_blocks split, the same for
 * the base model alone (the improvement), greedy sample generations of both for configured prompts, a row in the
 * registry's evaluation table, and a run report ({@code report.md}, {@code report.html}, {@code loss_curve.png},
 * {@code evaluation.json}) in {@code <lake>/adapters/<name>/v<version>/evaluation/}.
 *
 * <p>The losses are computed distributed ({@link DataParallelStep#evaluate}) with the executor-cached base
 * ({@link LoraLlamaFactory}); the base model's loss uses the same model with an all-zero adapter (B = 0 adds exactly
 * nothing). By default the data are the table and Delta version recorded with the adapter version, so the number is
 * comparable with the training run's. Samples are generated on the driver ({@link LoraServing}).
 *
 * <p>Run: {@code bin/lakelora evaluate --config conf/05_evaluate.yaml adapter=NAME@REF [key=value ...]}, or
 * spark-submit with this class as the main class and the same arguments.
 */
public final class EvaluateJob {
    private static final Logger LOG = LoggerFactory.getLogger(EvaluateJob.class);

    public static final String JOB = "05_evaluate";
    public static final String SUMMARY_FILE = "evaluation.json";
    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    private EvaluateJob() {}

    /** spark-submit entry point: the same arguments as {@code bin/lakelora evaluate}. */
    public static void main(String[] args) {
        JobCommand.runMain("evaluate", new EvaluateCommand(), args);
    }

    /** One prompt's continuations. */
    public record Sample(String prompt, String base, String adapter) {}

    /** What an evaluation measured and where it went. Losses are mean token cross-entropies in nats. */
    public record Result(
            String adapter,
            int version,
            String datasetTable,
            long datasetVersion,
            long blocks,
            long tokens,
            double evalLoss,
            double baseEvalLoss,
            List<Sample> samples,
            @Fields.Key("report") String reportDir) {
        public double perplexity() {
            return Math.exp(evalLoss);
        }

        public double basePerplexity() {
            return Math.exp(baseEvalLoss);
        }

        /** How much lower the adapter's loss is than the base's (nats per token; negative: worse). */
        public double improvement() {
            return baseEvalLoss - evalLoss;
        }

        public Map<String, Object> asMap() {
            Map<String, Object> m = Fields.of(this);
            m.put("perplexity", perplexity());
            m.put("base_perplexity", basePerplexity());
            m.put("improvement_nats", improvement());
            return m;
        }
    }

    /** {@link #run(SparkSession, EvaluateConfig, String)} with a new run id. */
    public static Result run(SparkSession spark, EvaluateConfig cfg) {
        return run(spark, cfg, null);
    }

    /** Evaluates {@code adapter}; the run goes to {@code job_runs} under {@code runId} (null: a new one). */
    public static Result run(SparkSession spark, EvaluateConfig cfg, String runId) {
        cfg.validate();
        long t0 = System.nanoTime();
        LakePaths lake = new LakePaths(cfg.lake.root);
        JobRun run = new JobRun(JOB, runId);
        run.mode = "full";
        run.configJson = ConfigLoader.toJson(cfg);
        LakeFs fs = new LakeFs(spark.sparkContext().hadoopConfiguration());
        AdapterRegistry registry = new AdapterRegistry(spark, AdapterPaths.registryRoot(cfg.lake.root));
        AdapterVersion v = AdapterVersion.of(registry.resolve(cfg.adapter));
        v.requireWeights();

        // the model: model.path, else the lake copy (base_models) of the adapter's recorded base model id; present,
        // the adapter's base, stored as model.quant says
        String modelUri = cfg.model.path != null && !cfg.model.path.isBlank()
                ? LakePaths.toUri(cfg.model.path)
                : BaseModels.resolve(spark, lake, v.baseModelId(), "the base model id recorded with " + v.ref())
                        .lakePath();
        if (!fs.exists(modelUri + "/" + ModelDir.CONFIG)) {
            throw new IllegalArgumentException("config key 'model.path': no model at " + modelUri + " (no "
                    + ModelDir.CONFIG + " there). Fix: point model.path at the base model of " + v.ref() + " ('"
                    + v.baseModelId() + "') or its job 00 quantization (<lake>/models/<id>-nf4)");
        }
        Path tmp = tempDir();
        Path localModel = LoraServing.localModelDir(fs, modelUri);
        String baseSha = cfg.model.checkBase
                ? BaseModelCheck.verify(fs, v, modelUri, () -> localModel, "model.path")
                : v.baseModelSha256();
        if (baseSha == null || !baseSha.matches("[0-9a-f]{64}")) { // the report's lineage names the model evaluated
            baseSha = BaseModelCheck.identities(fs, modelUri, () -> localModel)
                    .iterator()
                    .next();
        }
        QuantType stored = LlamaLoader.storedQuantization(localModel);
        if (stored != null && stored != QuantType.parse(cfg.model.quant)) {
            throw new IllegalArgumentException("config key 'model.quant' is " + cfg.model.quant + " but " + modelUri
                    + " is stored quantized as " + stored.id() + ". Fix: model.quant=" + stored.id());
        }

        // the adapter, mapped onto the model (fails naming the tensor if it belongs to another model)
        Path peftDir = AdapterExport.writeLocal(v, tmp.resolve("adapter"));
        PeftAdapter.Loaded adapter = PeftAdapter.load(peftDir, LlamaLoader.config(localModel));
        LoraConfig lora = adapter.config();

        // the data: the recorded table and version unless configured
        String table = tableLocation(lake, cfg.data.table != null ? cfg.data.table : v.datasetTable());
        long version = cfg.data.version != null
                ? cfg.data.version
                : v.datasetVersion() != null ? v.datasetVersion() : Math.max(0, Delta.version(spark, table));
        JavaRDD<TokenBlock> blocks = EvalBlocks.read(
                        spark, table, version, cfg.data.split, cfg.data.maxBlocks, cfg.eval.workers)
                .persist(StorageLevel.MEMORY_AND_DISK());
        try {
            long n = blocks.count();
            if (n == 0) {
                throw new IllegalArgumentException("dataset table " + table + " version " + version + " has no blocks "
                        + "with split '" + cfg.data.split + "'. Fix: run job 02 with split.eval_fraction > 0, or set "
                        + "data.split / data.version");
            }
            LOG.info("[evaluate] " + v.ref() + " on " + n + " " + cfg.data.split + " blocks of " + table + " v"
                    + version + " with " + modelUri + " (" + cfg.model.quant + ")");
            JavaSparkContext jsc = JavaSparkContext.fromSparkContext(spark.sparkContext());
            LoraLlamaFactory factory = new LoraLlamaFactory(
                    modelUri,
                    new LoraModelBuilder.Spec(
                            QuantType.parse(cfg.model.quant), true, lora, cfg.eval.threadsPerWorker, false));
            jsc.setJobDescription("lakelora evaluate " + v.ref() + " (adapter)");
            LossSum withAdapter =
                    DataParallelStep.evaluate(jsc, blocks, factory, adapter.params(), cfg.eval.microBatch);
            jsc.setJobDescription("lakelora evaluate " + v.ref() + " (base model)");
            LossSum base = DataParallelStep.evaluate(
                    jsc, blocks, factory, new float[adapter.params().length], cfg.eval.microBatch);
            jsc.setJobDescription(null);
            if (withAdapter.tokens() == 0) {
                throw new IllegalArgumentException("the " + n + " '" + cfg.data.split + "' blocks of " + table + " v"
                        + version + " have no target tokens (every label is -100). Fix: evaluate on blocks with "
                        + "trained tokens");
            }

            List<Sample> samples = samples(cfg, modelUri, peftDir);
            String reportDir = cfg.report.out != null
                    ? LakePaths.toUri(cfg.report.out)
                    : AdapterPaths.evaluationDir(cfg.lake.root, v.name(), v.version());
            Result r = new Result(
                    v.name(),
                    v.version(),
                    table,
                    version,
                    n,
                    withAdapter.tokens(),
                    withAdapter.mean(),
                    base.mean(),
                    samples,
                    reportDir);
            writeReport(spark, fs, lake, cfg, v, baseSha, r, tmp.resolve("report"));
            registry.recordEval(v.name(), v.version(), table, version, r.evalLoss(), r.tokens(), samplesJson(samples));

            run.counts.put("blocks", n);
            run.counts.put("tokens", r.tokens());
            run.tableVersions.put(lastSegment(table), version);
            run.message = String.format(
                    "%s: eval_loss %.4f (ppl %.2f), base %.4f (ppl %.2f)",
                    v.ref(), r.evalLoss(), r.perplexity(), r.baseEvalLoss(), r.basePerplexity());
            run.record(spark, lake, "succeeded");
            LOG.info(String.format(
                    "[evaluate] %s: eval loss %.4f (perplexity %.3f) vs base %.4f (perplexity %.3f): "
                            + "%+.4f nats/token over %d tokens; report %s (%.1f s)",
                    v.ref(),
                    r.evalLoss(),
                    r.perplexity(),
                    r.baseEvalLoss(),
                    r.basePerplexity(),
                    r.improvement(),
                    r.tokens(),
                    reportDir,
                    (System.nanoTime() - t0) / 1e9));
            return r;
        } finally {
            blocks.unpersist(false);
            deleteQuietly(tmp);
        }
    }

    /** Greedy continuations of every prompt by the base and by base + adapter. */
    static List<Sample> samples(EvaluateConfig cfg, String modelUri, Path peftDir) {
        List<Sample> out = new ArrayList<>();
        if (cfg.samples.prompts.isEmpty()) return out;
        ServeTarget withAdapter = new ServeTarget(
                modelUri, cfg.model.quant, peftDir.toUri().toString(), Math.max(1, cfg.eval.threadsPerWorker));
        for (String p : cfg.samples.prompts) {
            out.add(new Sample(
                    p,
                    LoraServing.generate(withAdapter.base(), p, cfg.samples.maxNewTokens),
                    LoraServing.generate(withAdapter, p, cfg.samples.maxNewTokens)));
        }
        return out;
    }

    static String samplesJson(List<Sample> samples) {
        ArrayNode a = JSON.createArrayNode();
        for (Sample s : samples)
            a.addObject().put("prompt", s.prompt()).put("base", s.base()).put("adapter", s.adapter());
        return a.toString();
    }

    /** report.md/html/png and evaluation.json, rendered locally and uploaded to the report directory. */
    static void writeReport(
            SparkSession spark,
            LakeFs fs,
            LakePaths lake,
            EvaluateConfig cfg,
            AdapterVersion v,
            String baseSha,
            Result r,
            Path local) {
        ObjectNode summary = JSON.valueToTree(r.asMap());
        ObjectNode config = JSON.createObjectNode();
        config.set("training", parseOrNull(v.configJson()));
        config.set("evaluation", parseOrNull(ConfigLoader.toJson(cfg)));
        ObjectNode result = config.putObject("evaluation_result");
        for (String k : List.of(
                "eval_loss",
                "perplexity",
                "base_eval_loss",
                "base_perplexity",
                "improvement_nats",
                "blocks",
                "tokens")) {
            result.set(k, summary.get(k));
        }
        List<RunReport.StepPoint> steps = TrainMetrics.series(spark, lake.table(TrainMetrics.TABLE), v.runId());
        List<RunReport.Sample> samples = new ArrayList<>();
        for (Sample s : r.samples()) samples.add(new RunReport.Sample(s.prompt(), s.base(), s.adapter()));
        double wall = Double.isFinite(v.wallSeconds()) && v.wallSeconds() >= 0 ? v.wallSeconds() : 0;
        RunReport report = new RunReport(
                v.name(),
                v.version(),
                config.toString(),
                new RunReport.Lineage(
                        v.baseModelId() != null ? v.baseModelId() : "unknown",
                        baseSha,
                        r.datasetTable(),
                        r.datasetVersion(),
                        v.runId()),
                new RunReport.Metrics(
                        v.trainLoss(),
                        r.evalLoss(),
                        r.perplexity(),
                        v.tokens(),
                        v.steps(),
                        wall,
                        wall > 0 ? v.tokens() / wall : 0),
                steps,
                samples);
        report.writeTo(local);
        try {
            Files.writeString(local.resolve(SUMMARY_FILE), JSON.writeValueAsString(summary) + "\n");
        } catch (IOException e) {
            throw new UncheckedIOException("writing " + local.resolve(SUMMARY_FILE), e);
        }
        fs.uploadDir(local, r.reportDir());
    }

    /** A table name ({@code token_blocks}) is a table of this lake; anything else is a location. */
    static String tableLocation(LakePaths lake, String table) {
        if (table == null || table.isBlank()) return lake.table(LakePaths.TOKEN_BLOCKS);
        return table.matches("[a-z][a-z0-9_]*") ? lake.table(table) : LakePaths.toUri(table);
    }

    private static JsonNode parseOrNull(String json) {
        if (json == null) return null;
        try {
            return JSON.readTree(json);
        } catch (IOException e) {
            return JSON.getNodeFactory().textNode(json);
        }
    }

    private static String lastSegment(String uri) {
        return uri.substring(uri.lastIndexOf('/') + 1);
    }

    private static Path tempDir() {
        try {
            return Files.createTempDirectory("lakelora-evaluate-");
        } catch (IOException e) {
            throw new UncheckedIOException("creating a temporary directory", e);
        }
    }

    private static void deleteQuietly(Path dir) {
        try (var w = Files.walk(dir)) {
            for (Path p : (Iterable<Path>) w.sorted(java.util.Comparator.reverseOrder())::iterator) {
                Files.deleteIfExists(p);
            }
        } catch (IOException e) {
            LOG.warn("[evaluate] could not remove {}: {}", dir, e.toString());
        }
    }
}
