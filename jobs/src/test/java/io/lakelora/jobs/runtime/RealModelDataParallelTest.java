package io.lakelora.jobs.runtime;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lakelora.jobs.lake.LakeFs;
import io.lakelora.jobs.testing.TestSpark;
import io.lakelora.jobs.train.CheckpointStore;
import io.lakelora.jobs.train.SparkTrainer;
import io.lakelora.lora.AdapterState;
import io.lakelora.lora.LoraConfig;
import io.lakelora.lora.LoraInit;
import io.lakelora.tokenizer.Tokenizer;
import io.lakelora.train.DataOrder;
import io.lakelora.train.LrSchedule;
import io.lakelora.train.OptimizerConfig;
import io.lakelora.train.OptimizerStep;
import io.lakelora.util.Assets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The real stories260K QLoRA model (NF4 base) trained data-parallel on Spark with 1, 2 and 4 workers. */
class RealModelDataParallelTest {
    static SparkSession spark;
    static JavaSparkContext jsc;

    @BeforeAll
    static void start() {
        spark = TestSpark.start(java.util.Map.of("spark.master", "local[2,4]"));
        jsc = JavaSparkContext.fromSparkContext(spark.sparkContext());
    }

    @AfterAll
    static void stop() {
        TestSpark.stop(spark);
    }

    /** Blocks of 64 tokens of tinyshakespeare (the first 20 KB), labels = inputs. */
    static List<TokenBlock> shakespeareBlocks() throws Exception {
        String text =
                Files.readString(Assets.require("corpora/tinyshakespeare.txt")).substring(0, 20_000);
        int[] ids;
        try (Tokenizer tok = Tokenizer.load(Assets.require("models/stories260K-hf"))) {
            ids = tok.encode(text, true);
        }
        List<TokenBlock> out = new ArrayList<>();
        for (int i = 0; (i + 1) * 64 <= ids.length; i++) {
            int[] b = Arrays.copyOfRange(ids, i * 64, (i + 1) * 64);
            out.add(new TokenBlock(i, b, b.clone(), null));
        }
        return out;
    }

    static LoraLlamaFactory factory() {
        return new LoraLlamaFactory(
                Assets.require("models/stories260K-hf").toUri().toString(),
                new io.lakelora.model.LoraModelBuilder.Spec(
                        io.lakelora.quant.QuantType.NF4,
                        true,
                        io.lakelora.lora.LoraConfig.of(4, 8.0, java.util.List.of("all-linear")),
                        1,
                        false));
    }

    static AdapterState init(LoraLlamaFactory f) {
        AdapterState s = new AdapterState(f.spec().layout(io.lakelora.model.LlamaLoader.config(f.localModelDir())));
        LoraInit.initialize(s, LoraConfig.of(4, 8, List.of("all-linear")), 1234, null, null);
        // B = 0 by default makes every A gradient zero at step 0; give B values so both get gradients
        for (var t : s.layout().tensors()) {
            if (!t.isA()) for (int i = 0; i < t.size(); i++) s.params()[t.offset() + i] = 0.01f * ((i * 37 % 11) - 5);
        }
        return s;
    }

    float[] train(JavaRDD<TokenBlock> rdd, int n, int workers, String ckpt) {
        LoraLlamaFactory f = factory();
        AdapterState s = init(f);
        OptimizerConfig oc = new OptimizerConfig(1e-2, null, null, 0.0, 1.0);
        OptimizerStep opt = new OptimizerStep(oc, new LrSchedule(LrSchedule.Type.CONSTANT, oc.lr(), 0, 3));
        try (DataParallelStep dp = new DataParallelStep(jsc, rdd, workers, f, new DataOrder(n, 8, 7), 2, -1)) {
            SparkTrainer t = new SparkTrainer(
                    jsc,
                    dp,
                    null,
                    f,
                    opt,
                    new SparkTrainer.Settings("eq", 3, 0, 0, 7, 4, "h"),
                    new CheckpointStore(new LakeFs(jsc.hadoopConfiguration()), ckpt, 1),
                    m -> {});
            SparkTrainer.Result r = t.run(s);
            assertTrue(r.lastTrainLoss() < r.metrics().get(0).loss(), "loss did not fall: " + r.metrics());
            return r.state().params();
        }
    }

    @Test
    void oneTwoAndFourWorkersSumTheSameGradients() throws Exception {
        List<TokenBlock> blocks = shakespeareBlocks();
        JavaRDD<TokenBlock> rdd = jsc.parallelize(blocks, 2);
        LoraLlamaFactory f = factory();
        float[] p = init(f).params();
        GradSum ref = null;
        for (int w : new int[] {1, 2, 4}) {
            try (DataParallelStep dp =
                    new DataParallelStep(jsc, rdd, w, f, new DataOrder(blocks.size(), 8, 7), 2, -1)) {
                GradSum g = dp.compute(1, p, 7);
                if (ref == null) {
                    ref = g;
                    continue;
                }
                assertEquals(ref.tokens, g.tokens);
                assertEquals(ref.lossSum, g.lossSum, 1e-6 * ref.lossSum);
                double maxG = 0;
                double maxDiff = 0;
                for (int i = 0; i < p.length; i++) {
                    maxG = Math.max(maxG, Math.abs(ref.grads[i]));
                    maxDiff = Math.max(maxDiff, Math.abs(ref.grads[i] - g.grads[i]));
                }
                System.out.printf(
                        "gradient sums, workers 1 vs %d: max |diff| %.3g, max |grad| %.3g%n", w, maxDiff, maxG);
                assertTrue(maxDiff <= 1e-5 * maxG, "gradient sums differ beyond fp32 tolerance: " + maxDiff);
            }
        }
    }

    /**
     * After three AdamW steps. (With B = 0 at the start every A gradient of step 0 is zero up to rounding, and Adam's
     * division by sqrt(v) turns that rounding into a full step of either sign: the init above gives B values so that
     * the comparison tests the data-parallel sum, not Adam's sign of noise.)
     */
    @Test
    void oneTwoAndFourWorkersProduceTheSameAdapter(@TempDir Path dir) throws Exception {
        List<TokenBlock> blocks = shakespeareBlocks();
        assertTrue(blocks.size() >= 16, "need at least two global batches, got " + blocks.size());
        JavaRDD<TokenBlock> rdd = jsc.parallelize(blocks, 2);
        float[] one = train(rdd, blocks.size(), 1, dir.resolve("w1").toUri().toString());
        for (int w : new int[] {2, 4}) {
            float[] other =
                    train(rdd, blocks.size(), w, dir.resolve("w" + w).toUri().toString());
            double maxDiff = 0;
            double maxAbs = 0;
            for (int i = 0; i < one.length; i++) {
                maxDiff = Math.max(maxDiff, Math.abs(one[i] - other[i]));
                maxAbs = Math.max(maxAbs, Math.abs(one[i]));
            }
            System.out.printf("workers 1 vs %d: max |diff| %.3g (max |param| %.3g)%n", w, maxDiff, maxAbs);
            assertTrue(maxDiff <= 1e-5 * Math.max(1, maxAbs), "adapters differ beyond fp32 tolerance: " + maxDiff);
            assertEquals(one.length, other.length);
        }
    }
}
