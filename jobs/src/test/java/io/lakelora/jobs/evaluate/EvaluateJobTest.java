package io.lakelora.jobs.evaluate;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.lakelora.jobs.common.LakePaths;
import io.lakelora.jobs.prepare.PrepareConfig;
import io.lakelora.jobs.prepare.PrepareCorpusJob;
import io.lakelora.jobs.quantize.QuantizeBaseJob;
import io.lakelora.jobs.quantize.QuantizeConfig;
import io.lakelora.jobs.registry.AdapterRegistry;
import io.lakelora.jobs.runtime.AdapterPaths;
import io.lakelora.jobs.serve.LoraServing;
import io.lakelora.jobs.serve.ServeFixtures;
import io.lakelora.jobs.testing.Confs;
import io.lakelora.jobs.testing.TestSpark;
import io.lakelora.jobs.tokenize.TokenizeConfig;
import io.lakelora.jobs.tokenize.TokenizePackJob;
import io.lakelora.jobs.train.TrainJob;
import io.lakelora.jobs.train.TrainJobConfig;
import io.lakelora.kernel.KernelProvider;
import io.lakelora.model.Generator;
import io.lakelora.model.LlamaSession;
import io.lakelora.model.LlamaWeights;
import io.lakelora.model.LoraAdapter;
import io.lakelora.peft.PeftAdapter;
import io.lakelora.report.RunReport;
import io.lakelora.text.Packing;
import io.lakelora.tokenizer.Tokenizer;
import io.lakelora.util.Assets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import org.apache.hadoop.conf.Configuration;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Job 05 on a local lake built by the real jobs: a tinyshakespeare slice through job 01 and job 02 (token_blocks),
 * the stories260K base quantized by job 00, registry versions holding a real PEFT adapter, and one trained by job 03. The distributed eval
 * losses equal the engine's inference scores of every packed document computed here directly (an independent path:
 * one sequence at a time with a KV cache, not the training model), for the adapter and for the base alone.
 */
class EvaluateJobTest {
    static SparkSession spark;

    @TempDir
    static Path tmp;

    static Path lake;
    static Path peftDir;
    static String blocksTable;
    static long blocksVersion;
    static String quantizedModel;

    @BeforeAll
    static void start() throws Exception {
        spark = TestSpark.start(java.util.Map.of("spark.master", "local[2,4]"));
        lake = tmp.resolve("lake");
        String lakeRoot = lake.toString();

        // job 01 + 02 on the first 6,000 characters of tinyshakespeare (one document per speech)
        Path corpus = tmp.resolve("shakespeare.txt");
        Files.writeString(
                corpus,
                Files.readString(Assets.require("corpora/tinyshakespeare.txt")).substring(0, 6000));
        PrepareConfig prep = new PrepareConfig();
        prep.lake.root = lakeRoot;
        prep.spark.shufflePartitions = 2;
        PrepareConfig.Input in = new PrepareConfig.Input();
        in.name = "shakespeare";
        in.path = corpus.toString();
        in.format = "text";
        in.textSplit = "separator";
        in.separator = "\n\n";
        prep.inputs = List.of(in);
        PrepareCorpusJob.run(spark, prep);
        TokenizeConfig tc = Confs.load(
                "02_tokenize_pack.yaml",
                TokenizeConfig.class,
                "lake.root=" + lakeRoot,
                "pack.block_size=128",
                "split.eval_fraction=0.3",
                "pack.partitions=2");
        tc.model.tokenizer = Confs.assetOrModel(tc.model.tokenizer);
        TokenizePackJob.Result tr = TokenizePackJob.run(spark, tc);
        blocksTable = new LakePaths(lakeRoot).table(LakePaths.TOKEN_BLOCKS);
        blocksVersion = tr.tableVersions().get(LakePaths.TOKEN_BLOCKS);
        assertTrue(tr.count("blocks.eval") >= 2, "the slice gives eval blocks: " + tr.counts());

        // job 00: the base in the lake
        QuantizeConfig qc = Confs.load("00_quantize_base.yaml", QuantizeConfig.class, "lake.root=" + lakeRoot);
        qc.model.path = Confs.asset(qc.model.path);
        qc.output.localDir = tmp.resolve("scratch").toString();
        quantizedModel =
                QuantizeBaseJob.quantize(new Configuration(), qc, "test").output();

        peftDir = ServeFixtures.writeAdapter(tmp.resolve("peft"), 3);
        AdapterRegistry reg = new AdapterRegistry(spark, AdapterPaths.registryRoot(lakeRoot));
        reg.register(ServeFixtures.record(
                "tiny", "run-1", peftDir, blocksTable, blocksVersion, ServeFixtures.STORIES_SHA256, null));
        reg.register(ServeFixtures.record("tiny", "run-2", peftDir, blocksTable, blocksVersion, "0".repeat(64), null));
    }

    @AfterAll
    static void stop() {
        spark.stop();
    }

    static EvaluateConfig config(String... overrides) {
        String[] all = new String[overrides.length + 4];
        all[0] = "lake.root=" + lake;
        all[1] = "model.path=" + quantizedModel;
        all[2] = "samples.max_new_tokens=10";
        all[3] = "adapter=tiny@1";
        System.arraycopy(overrides, 0, all, 4, overrides.length);
        return Confs.load("05_evaluate.yaml", EvaluateConfig.class, all);
    }

    /** Sum of -log p over the trained tokens of every document piece of the eval blocks, and their count. */
    static double[] expectedLoss(LlamaWeights base, LoraAdapter adapter) {
        double sum = 0;
        long tokens = 0;
        for (Row b : spark.read()
                .format("delta")
                .option("versionAsOf", blocksVersion)
                .load(blocksTable)
                .where("split = 'eval'")
                .collectAsList()) {
            List<Integer> ids = b.getList(b.fieldIndex("input_ids"));
            List<Integer> labels = b.getList(b.fieldIndex("labels"));
            for (Row s : b.<Row>getList(b.fieldIndex("segments"))) {
                int start = s.getInt(2);
                int len = s.getInt(3);
                int[] seg = new int[len];
                for (int i = 0; i < len; i++) seg[i] = ids.get(start + i);
                // plain text documents: every token of a piece but its first is trained (what makes this sum the loss)
                assertEquals(Packing.IGNORE, (int) labels.get(start));
                for (int i = 1; i < len; i++) assertEquals(seg[i], (int) labels.get(start + i));
                double[] sc = new LlamaSession(base, KernelProvider.withThreads(1), adapter, len, 256).score(seg);
                sum += sc[0];
                tokens += (long) sc[1];
            }
        }
        return new double[] {sum, tokens};
    }

    @Test
    void lossesSamplesRegistryRowAndReport() throws Exception {
        EvaluateJob.Result r = EvaluateJob.run(spark, config());

        LlamaWeights base = ServeFixtures.nf4Base();
        LoraAdapter adapter = LoraServing.toLoraAdapter(PeftAdapter.load(peftDir, base.arch()));
        double[] withAdapter = expectedLoss(base, adapter);
        double[] plain = expectedLoss(base, null);
        System.out.printf(
                "eval loss %.6f (engine %.6f), base %.6f (engine %.6f), %d tokens in %d blocks%n",
                r.evalLoss(),
                withAdapter[0] / withAdapter[1],
                r.baseEvalLoss(),
                plain[0] / plain[1],
                r.tokens(),
                r.blocks());
        assertEquals((long) withAdapter[1], r.tokens());
        assertEquals(withAdapter[0] / withAdapter[1], r.evalLoss(), 1e-4 * r.evalLoss());
        assertEquals(plain[0] / plain[1], r.baseEvalLoss(), 1e-4 * r.baseEvalLoss());
        assertEquals(Math.exp(r.evalLoss()), r.perplexity(), 1e-12 * r.perplexity());
        assertEquals(blocksTable, r.datasetTable());
        assertEquals(blocksVersion, r.datasetVersion(), "the dataset version recorded with the adapter");

        // samples: greedy continuations as the engine produces them
        assertEquals(2, r.samples().size());
        try (Tokenizer tok = Tokenizer.load(ServeFixtures.model())) {
            for (EvaluateJob.Sample s : r.samples()) {
                int[] ids = tok.encode(s.prompt(), true);
                for (LoraAdapter a : new LoraAdapter[] {null, adapter}) {
                    LlamaSession gs = new LlamaSession(base, KernelProvider.withThreads(1), a, ids.length + 10, 256);
                    String want = tok.decode(
                            Generator.generate(gs, ids, Generator.Config.greedy(10, Set.of(2)), null)
                                    .tokens(),
                            true);
                    assertEquals(want, a == null ? s.base() : s.adapter(), "prompt '" + s.prompt() + "'");
                }
            }
        }

        Row ev = spark.read()
                .format("delta")
                .load(new AdapterRegistry(spark, AdapterPaths.registryRoot(lake.toString())).evalsPath())
                .where("adapter_name = 'tiny' AND version = 1")
                .orderBy(org.apache.spark.sql.functions.col("evaluated_at").desc())
                .first(); // this run's row (the other test also evaluates tiny@1)
        assertEquals(r.evalLoss(), ev.<Double>getAs("eval_loss"), 0.0);
        assertEquals(r.tokens(), (long) ev.<Long>getAs("tokens"));
        assertEquals(blocksVersion, (long) ev.<Long>getAs("dataset_version"));
        JsonNode samples = new ObjectMapper().readTree(ev.<String>getAs("samples_json"));
        assertEquals(r.samples().get(0).adapter(), samples.get(0).get("adapter").asText());

        Path report = lake.resolve("adapters/tiny/v1/evaluation");
        for (String f : List.of(RunReport.MARKDOWN, RunReport.HTML, RunReport.LOSS_CURVE, EvaluateJob.SUMMARY_FILE)) {
            assertTrue(Files.size(report.resolve(f)) > 0, f);
        }
        JsonNode summary = new ObjectMapper()
                .readTree(report.resolve(EvaluateJob.SUMMARY_FILE).toFile());
        assertEquals(r.evalLoss(), summary.get("eval_loss").asDouble(), 0.0);
        assertEquals(r.baseEvalLoss(), summary.get("base_eval_loss").asDouble(), 0.0);
        String md = Files.readString(report.resolve(RunReport.MARKDOWN));
        assertTrue(md.contains(ServeFixtures.STORIES_SHA256) && md.contains("run-1"), "lineage in the report");
        assertTrue(md.contains(r.samples().get(0).adapter()), "samples in the report");
        assertTrue(md.contains("No steps were recorded"), "run-1 (registered by hand) has no train_metrics rows");
    }

    /**
     * A version registered by the real job 03: evaluated with the defaults (the recorded table and version, the conf
     * file's adapter name) job 05 reproduces the eval loss job 03 recorded (same blocks, same adapter, same distributed
     * loss), and the UDFs serve its PEFT directory as job 03 wrote it.
     */
    @Test
    void aVersionTrainedByJob03EvaluatesToItsRecordedEvalLoss() {
        TrainJobConfig tc = Confs.load(
                "03_train.yaml",
                TrainJobConfig.class,
                "lake.root=" + lake,
                "train.steps=4",
                "train.global_batch_blocks=4",
                "train.eval_interval=4",
                "train.checkpoint_interval=4",
                "report.max_new_tokens=4");
        tc.model.path = Confs.assetOrModel(tc.model.path);
        TrainJob.Outcome trained = TrainJob.run(spark, tc, null);
        EvaluateConfig ec =
                Confs.load("05_evaluate.yaml", EvaluateConfig.class, "lake.root=" + lake, "samples.prompts=[]");
        ec.model.path = Confs.assetOrModel(ec.model.path);
        EvaluateJob.Result r = EvaluateJob.run(spark, ec);
        assertEquals(tc.train.adapterName, r.adapter());
        assertEquals(trained.version(), r.version());
        assertEquals(blocksVersion, r.datasetVersion());
        System.out.printf(
                "job 03 eval loss %.6f, job 05 %.6f (base %.6f)%n", trained.evalLoss(), r.evalLoss(), r.baseEvalLoss());
        assertEquals(trained.evalLoss(), r.evalLoss(), 1e-5 * r.evalLoss());
        assertTrue(r.evalLoss() < r.baseEvalLoss(), "4 steps of training lower the eval loss");

        io.lakelora.jobs.serve.LoraUdfs.Registered served = io.lakelora.jobs.serve.LoraUdfs.register(
                spark,
                AdapterPaths.registryRoot(lake.toString()),
                tc.train.adapterName,
                ServeFixtures.model().toString(),
                io.lakelora.jobs.serve.LoraUdfs.Options.defaults().withNames("gen_trained", "score_trained"));
        assertEquals(trained.peftPath(), served.adapterUri(), "job 03's PEFT directory holds the registered bytes");

        assertEquals(
                4,
                TrainMetrics.series(spark, trained.metricsTable(), trained.runId())
                        .size());
        String md = readString(lake.resolve(
                "adapters/" + tc.train.adapterName + "/v" + r.version() + "/evaluation/" + RunReport.MARKDOWN));
        assertFalse(md.contains("No steps were recorded"), "job 03's loss series is in the evaluation report");
    }

    private static String readString(Path p) {
        try {
            return Files.readString(p);
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    @Test
    void aBlockLimitAndAnExplicitVersionAreHonoured() {
        EvaluateJob.Result r = EvaluateJob.run(
                spark,
                config(
                        "data.max_blocks=1",
                        "data.version=" + blocksVersion,
                        "data.table=token_blocks",
                        "samples.prompts=[]",
                        "report.out=" + tmp.resolve("report-1")));
        assertEquals(1, r.blocks());
        assertTrue(Files.exists(tmp.resolve("report-1").resolve(RunReport.MARKDOWN)));
    }

    @Test
    void badInputIsNamed() {
        IllegalArgumentException e =
                assertThrows(IllegalArgumentException.class, () -> EvaluateJob.run(spark, config("adapter=tiny@7")));
        assertTrue(e.getMessage().contains("tiny@7"), e.getMessage());
        Path missing = tmp.resolve("no-model");
        e = assertThrows(IllegalArgumentException.class, () -> EvaluateJob.run(spark, config("model.path=" + missing)));
        assertTrue(
                e.getMessage().contains(missing.toString()) && e.getMessage().contains("model.path"), e.getMessage());
        e = assertThrows(
                IllegalArgumentException.class, () -> EvaluateJob.run(spark, config("data.table=no_such_table")));
        assertTrue(
                e.getMessage().contains("tables/no_such_table")
                        && e.getMessage().contains("not a Delta table"),
                e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> EvaluateJob.run(spark, config("data.version=999")));
        assertTrue(e.getMessage().contains("no version 999"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> EvaluateJob.run(spark, config("data.split=holdout")));
        assertTrue(e.getMessage().contains("split 'holdout'"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> EvaluateJob.run(spark, config("adapter=tiny@2")));
        assertTrue(
                e.getMessage().contains("tiny@2")
                        && e.getMessage().contains("0".repeat(64))
                        && e.getMessage().contains(ServeFixtures.STORIES_SHA256),
                "another base: " + e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> EvaluateJob.run(spark, config("model.quant=none")));
        assertTrue(e.getMessage().contains("model.quant") && e.getMessage().contains("nf4"), e.getMessage());
    }
}
