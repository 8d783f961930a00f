package io.lakelora.jobs.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lakelora.jobs.prepare.PrepareConfig;
import io.lakelora.jobs.prepare.PrepareCorpusJob;
import io.lakelora.jobs.registry.AdapterRegistry;
import io.lakelora.jobs.testing.Confs;
import io.lakelora.jobs.testing.PipelineChecks;
import io.lakelora.jobs.testing.TestSpark;
import io.lakelora.jobs.tokenize.TokenizePackJob;
import io.lakelora.kernel.KernelProvider;
import io.lakelora.model.LlamaLoader;
import io.lakelora.model.LlamaSession;
import io.lakelora.model.LlamaWeights;
import io.lakelora.model.LoraAdapter;
import io.lakelora.model.LoraSpec;
import io.lakelora.model.ModelConfig;
import io.lakelora.peft.PeftAdapter;
import io.lakelora.tokenizer.Tokenizer;
import io.lakelora.util.Assets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 5 end to end on local disk: jobs 01 -> 02 -> 03 on real corpora with stories260K -> a registry version ->
 * PEFT files -> imported again -> the same scores; a rerun registers nothing new.
 */
class TrainJobEndToEndTest {
    static SparkSession spark;

    @BeforeAll
    static void start() {
        spark = TestSpark.start(Map.of());
    }

    @AfterAll
    static void stop() {
        TestSpark.stop(spark);
    }

    /** Jobs 01 and 02 on the first 40 KB of tinyshakespeare plus the tinystories sample. */
    static void prepareData(SparkSession spark, String lake) throws Exception {
        Path slice = Path.of(java.net.URI.create(new io.lakelora.jobs.common.LakePaths(lake).root() + "-input"))
                .resolve("tinyshakespeare-40k.txt");
        Files.createDirectories(slice.getParent());
        Files.writeString(
                slice,
                Files.readString(Assets.require("corpora/tinyshakespeare.txt")).substring(0, 40_000));
        PrepareConfig p = PipelineChecks.prepareConfig(lake, "mode=full");
        p.inputs.stream().filter(in -> in.name.equals("tinyshakespeare")).forEach(in -> in.path = slice.toString());
        // English prose the TinyStories-trained model can read (the identity corpus is partly Chinese: byte tokens
        // the model never saw, ~22 nats each)
        p.inputs.removeIf(in -> !in.name.equals("tinystories") && !in.name.equals("tinyshakespeare"));
        PrepareCorpusJob.run(spark, p);
        TokenizePackJob.run(
                spark,
                PipelineChecks.tokenizeConfig(lake, "mode=full", "pack.block_size=128", "split.eval_fraction=0.1"));
    }

    static TrainJobConfig trainConfig(String lake, String... overrides) {
        String[] all = new String[overrides.length + 1];
        all[0] = "lake.root=" + lake;
        System.arraycopy(overrides, 0, all, 1, overrides.length);
        TrainJobConfig cfg = Confs.load("03_train.yaml", TrainJobConfig.class, all);
        cfg.model.path = Confs.assetOrModel(cfg.model.path);
        return cfg;
    }

    @Test
    void blocksToRegistryToPeftAndBack(@TempDir Path dir) throws Exception {
        String lake = dir.resolve("lake").toString();
        prepareData(spark, lake);
        // the global batch given in tokens: 512 tokens = 4 blocks of 128
        TrainJobConfig cfg = trainConfig(
                lake,
                "train.steps=6",
                "train.eval_interval=3",
                "train.checkpoint_interval=3",
                "train.global_batch_tokens=512",
                "report.max_new_tokens=8");
        TrainJob.Outcome out = TrainJob.run(spark, cfg, null);
        assertEquals(1, out.version());
        assertTrue(out.created());
        assertTrue(
                out.trainLoss() > 0 && Double.isFinite(out.evalLoss()),
                out.asMap().toString());
        // a sensible feed: below the uniform ln(512) = 6.24 nats of a 512-token vocabulary from the first step on
        assertTrue(spark.read()
                        .format("delta")
                        .load(out.metricsTable())
                        .filter("step = 1")
                        .first()
                        .getDouble(3)
                < 6.0);

        AdapterRegistry reg = new AdapterRegistry(spark, out.registry());
        Row row = reg.resolve(cfg.train.adapterName + "@1");
        assertEquals(out.runId(), row.getString(row.fieldIndex("run_id")));
        assertTrue(row.getString(row.fieldIndex("dataset_table")).endsWith("/tables/token_blocks"));
        assertEquals(out.datasetVersion(), row.getLong(row.fieldIndex("dataset_version")));
        assertEquals(64, row.getString(row.fieldIndex("base_model_sha256")).length());
        assertTrue(row.getString(row.fieldIndex("config_json")).contains("\"adapter_name\""));
        assertEquals(6L, row.getLong(row.fieldIndex("steps")));

        // the PEFT export in the lake holds exactly the registered bytes and imports to the trained adapter
        Path peft = Path.of(java.net.URI.create(out.peftPath()));
        byte[] stored = (byte[]) row.get(row.fieldIndex("adapter_safetensors"));
        assertArrayEquals(stored, Files.readAllBytes(peft.resolve(PeftAdapter.WEIGHTS_FILE)));
        Path model = Assets.require("models/stories260K-hf");
        ModelConfig mc = LlamaLoader.config(model);
        PeftAdapter.Loaded imported = PeftAdapter.load(peft, mc);
        assertEquals(8, imported.config().r());

        // scores with the imported adapter: identical across two imports, and different from the base model
        LlamaWeights w = LlamaLoader.load(model, null);
        LoraSpec spec = LoraSpec.of(8, 16, false, 0, imported.config().targets());
        int[] ids;
        try (Tokenizer tok = Tokenizer.load(model)) {
            ids = tok.encode("Once upon a time, there was a little girl named Lily.", true);
        }
        double[] a = new LlamaSession(
                        w, KernelProvider.get(), new LoraAdapter(spec, imported.layout(), imported.params()), 256, 64)
                .score(ids);
        PeftAdapter.Loaded again = PeftAdapter.load(peft, mc);
        double[] b = new LlamaSession(
                        w, KernelProvider.get(), new LoraAdapter(spec, again.layout(), again.params()), 256, 64)
                .score(ids);
        double[] base = new LlamaSession(w, KernelProvider.get(), null, 256, 64).score(ids);
        assertArrayEquals(a, b);
        assertFalse(a[0] == base[0], "the adapter changed nothing");
        // the trained slab itself (the final checkpoint holds the state the job ended with) scores exactly as the
        // exported-then-imported adapter: export -> import loses nothing
        io.lakelora.lora.AdapterState trained = new io.lakelora.lora.AdapterState(imported.layout());
        new CheckpointStore(
                        new io.lakelora.jobs.lake.LakeFs(spark.sparkContext().hadoopConfiguration()),
                        out.checkpoints(),
                        2)
                .loadLatest(
                        trained,
                        new io.lakelora.train.OptimizerConfig(null, null, null, null, null)
                                .build()
                                .newState(trained.layout()));
        assertEquals(6, trained.step());
        assertArrayEquals(trained.params(), imported.params());
        double[] direct = new LlamaSession(
                        w, KernelProvider.get(), new LoraAdapter(spec, trained.layout(), trained.params()), 256, 64)
                .score(ids);
        assertArrayEquals(direct, a);

        // report and metrics
        Path report = Path.of(java.net.URI.create(out.reportPath()));
        assertTrue(Files.size(report.resolve("loss_curve.png")) > 1000);
        assertTrue(Files.readString(report.resolve("report.md")).contains(out.runId()));
        assertEquals(6, spark.read().format("delta").load(out.metricsTable()).count());
        // every step saw 4 blocks: at most 4 x 127 predicted tokens, more than 3 blocks' worth
        for (Row m : spark.read()
                .format("delta")
                .load(out.metricsTable())
                .select("tokens")
                .collectAsList()) {
            assertTrue(m.getLong(0) <= 4 * 127 && m.getLong(0) > 3 * 127 - 40, "tokens per step: " + m.getLong(0));
        }

        // rerun: nothing new
        TrainJob.Outcome rerun = TrainJob.run(
                spark,
                trainConfig(
                        lake,
                        "train.steps=6",
                        "train.eval_interval=3",
                        "train.checkpoint_interval=3",
                        "train.global_batch_tokens=512",
                        "report.max_new_tokens=8"),
                null);
        assertFalse(rerun.created());
        assertEquals(1, rerun.version());
        assertEquals(1, reg.versions(cfg.train.adapterName).size());
    }
}
