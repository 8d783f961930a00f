package io.lakelora.jobs.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lakelora.jobs.registry.AdapterRegistry;
import io.lakelora.jobs.testing.TestSpark;
import io.lakelora.kernel.KernelProvider;
import io.lakelora.lora.TargetModule;
import io.lakelora.model.Architecture;
import io.lakelora.model.LlamaLoader;
import io.lakelora.model.LlamaWeights;
import io.lakelora.model.LoraLlama;
import io.lakelora.model.LoraSpec;
import io.lakelora.model.ModelConfig;
import io.lakelora.model.RopeScaling;
import io.lakelora.model.TinyModelDirs;
import io.lakelora.peft.PeftAdapter;
import io.lakelora.quant.Quantizer;
import io.lakelora.train.Batch;
import io.lakelora.train.LossSum;
import java.nio.file.Path;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Qwen3 and Gemma 3 through job 03: tiny random models of each family (written in transformers' layout, with the
 * stories260K tokenizer so jobs 01-02 pack real text for them) train on an NF4 base with LoRA on all seven PEFT target
 * modules; the registered version's PEFT files import for the model, and the job's eval loss equals the engine's own
 * evaluation of the exported adapter on the eval blocks.
 */
class ModelFamiliesTrainJobTest {
    static SparkSession spark;

    @BeforeAll
    static void start() {
        spark = TestSpark.start(Map.of());
    }

    @AfterAll
    static void stop() {
        TestSpark.stop(spark);
    }

    static ModelConfig qwen3() {
        return ModelConfig.builder(Architecture.QWEN3)
                .vocabSize(512)
                .hiddenSize(32)
                .intermediateSize(64)
                .numLayers(2)
                .numHeads(4)
                .numKvHeads(2)
                .headDim(16) // hidden / heads = 8
                .ropeTheta(1e6)
                .tieWordEmbeddings(true)
                .maxPositionEmbeddings(512)
                .bosTokenId(1)
                .eosTokenIds(2)
                .build();
    }

    static ModelConfig gemma3() {
        return ModelConfig.builder(Architecture.GEMMA3)
                .vocabSize(512)
                .hiddenSize(32)
                .intermediateSize(64)
                .numLayers(3)
                .numHeads(2)
                .numKvHeads(1)
                .headDim(16)
                .queryPreAttnScalar(24)
                .slidingWindow(16) // blocks of 128 tokens: the sliding layers see less than the global one
                .slidingWindowPattern(3)
                .ropeScaling(RopeScaling.linear(8))
                .maxPositionEmbeddings(512)
                .bosTokenId(1)
                .eosTokenIds(2)
                .padTokenId(0)
                .build();
    }

    @Test
    void qwen3AndGemma3TrainOneJob03RunEach(@TempDir Path dir) throws Exception {
        String lake = dir.resolve("lake").toString();
        TrainJobEndToEndTest.prepareData(spark, lake);
        for (ModelConfig mc : List.of(qwen3(), gemma3())) {
            String family = mc.architecture().modelType();
            Path model = TinyModelDirs.withStoriesTokenizer(TinyModelDirs.random(dir.resolve(family), mc, 5, 0.05f));
            TrainJobConfig cfg = TrainJobEndToEndTest.trainConfig(
                    lake,
                    "model.path=" + model,
                    "model.id=tiny-" + family,
                    "train.adapter_name=tiny-" + family,
                    "train.steps=3",
                    "train.eval_interval=3",
                    "train.checkpoint_interval=3",
                    "train.global_batch_tokens=256",
                    "report.max_new_tokens=4");
            TrainJob.Outcome out = TrainJob.run(spark, cfg, null);
            assertEquals(1, out.version(), family);
            assertTrue(out.created(), family);
            List<Row> metrics = spark.read()
                    .format("delta")
                    .load(out.metricsTable())
                    .filter("run_id = '" + out.runId() + "'")
                    .orderBy("step")
                    .collectAsList();
            assertEquals(3, metrics.size(), family);
            double first = metrics.get(0).getDouble(metrics.get(0).fieldIndex("loss"));
            // a near-uniform random model over 512 tokens: about ln(512) = 6.24 nats
            assertTrue(Math.abs(first - Math.log(512)) < 0.5, family + " step 1 loss " + first);

            // the registered PEFT files: PEFT's module names, import for this model
            AdapterRegistry reg = new AdapterRegistry(spark, out.registry());
            Row row = reg.resolve("tiny-" + family + "@1");
            String adapterConfig = row.getString(row.fieldIndex("adapter_config_json"));
            for (TargetModule m : TargetModule.values()) {
                assertTrue(adapterConfig.contains("\"" + m.peftName() + "\""), family + ": " + adapterConfig);
            }
            Path peft = Path.of(java.net.URI.create(out.peftPath()));
            PeftAdapter.Loaded imported = PeftAdapter.load(peft, LlamaLoader.config(model));
            assertEquals(EnumSet.allOf(TargetModule.class), imported.config().targets());

            // the job's eval loss = the engine on the eval blocks with the exported adapter over the same NF4 base
            List<Row> eval = spark.read()
                    .format("delta")
                    .option("versionAsOf", out.datasetVersion())
                    .load(out.datasetTable())
                    .filter("split = 'eval'")
                    .select("input_ids", "labels", "position_ids")
                    .collectAsList();
            LlamaWeights nf4 = LlamaLoader.load(model, Quantizer.qlora()::quantize);
            assertTrue(nf4.layer(0).q().isQuantized());
            LoraLlama engine = new LoraLlama(nf4, LoraSpec.of(imported.config()), KernelProvider.get(), false);
            double sum = 0;
            long tokens = 0;
            for (Row r : eval) {
                Batch b = new Batch(new int[][] {ints(r, 0)}, new int[][] {ints(r, 1)}, new int[][] {ints(r, 2)});
                LossSum ls = engine.evaluate(imported.params(), b);
                sum += ls.lossSum();
                tokens += ls.tokens();
            }
            double mine = sum / tokens;
            System.out.printf(
                    "%s: job 03 train loss %.5f, eval loss %.5f; engine on %d eval blocks %.5f%n",
                    family, out.trainLoss(), out.evalLoss(), eval.size(), mine);
            assertTrue(!eval.isEmpty());
            assertEquals(mine, out.evalLoss(), 1e-5 * mine, family);
        }
    }

    private static int[] ints(Row r, int i) {
        List<Integer> l = r.getList(i);
        int[] a = new int[l.size()];
        for (int j = 0; j < a.length; j++) a[j] = l.get(j);
        return a;
    }
}
