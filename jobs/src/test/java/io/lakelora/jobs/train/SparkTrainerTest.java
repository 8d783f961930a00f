package io.lakelora.jobs.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lakelora.jobs.lake.LakeFs;
import io.lakelora.jobs.testing.LocalSpark;
import io.lakelora.lora.AdapterState;
import io.lakelora.train.LrSchedule;
import io.lakelora.train.Optimizer;
import io.lakelora.train.OptimizerConfig;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SparkTrainerTest {
    static SparkSession spark;
    static JavaSparkContext jsc;

    @BeforeAll
    static void start() {
        spark = LocalSpark.start("SparkTrainerTest");
        jsc = JavaSparkContext.fromSparkContext(spark.sparkContext());
    }

    @AfterAll
    static void stop() { spark.stop(); }

    static final long STEPS = 8;

    SparkTrainer trainer(DataParallelStep dp, JavaRDD<TokenBlock> eval, String ckptDir, java.util.function.Consumer<List<StepMetric>> sink) {
        OptimizerConfig oc = new OptimizerConfig(0.05, null, null, 0.01, 1.0);
        Optimizer opt = new Optimizer(oc, new LrSchedule(LrSchedule.Type.COSINE, oc.lr(), 2, STEPS));
        CheckpointStore store = new CheckpointStore(new LakeFs(spark.sparkContext().hadoopConfiguration()), ckptDir, 2);
        return new SparkTrainer(jsc, dp, eval, new ToyModelFactory(), opt,
                new SparkTrainer.Settings("run-1", STEPS, 4, 3, 42, 4, "hash-1"), store, sink);
    }

    static AdapterState init() {
        AdapterState s = new AdapterState(ToyModelFactory.LAYOUT);
        System.arraycopy(DataParallelStepTest.params(), 0, s.params(), 0, s.params().length);
        return s;
    }

    @Test
    void lossFallsAndAResumedRunEndsWithTheUninterruptedAdapter(@TempDir Path dir) {
        List<TokenBlock> blocks = DataParallelStepTest.blocks();
        JavaRDD<TokenBlock> train = jsc.parallelize(blocks.subList(0, 32), 2);
        JavaRDD<TokenBlock> eval = jsc.parallelize(blocks.subList(32, 37), 1);
        DataOrder order = new DataOrder(32, 8, 42);

        SparkTrainer.Result full;
        List<StepMetric> sunk = new ArrayList<>();
        try (DataParallelStep dp = new DataParallelStep(jsc, train, 2, new ToyModelFactory(), order, 3, -1)) {
            full = trainer(dp, eval, dir.resolve("a").toUri().toString(), sunk::addAll).run(init());
        }
        assertEquals(STEPS, full.state().step());
        assertEquals(STEPS, sunk.size());
        assertTrue(full.metrics().get(0).loss() > full.lastTrainLoss(), "train loss did not fall: " + full.metrics());
        assertFalse(Double.isNaN(full.evalLoss()));

        // the same run, crashing right after the checkpoint at step 3, then rerun
        String ckpt = dir.resolve("b").toUri().toString();
        try (DataParallelStep dp = new DataParallelStep(jsc, train, 2, new ToyModelFactory(), order, 3, -1)) {
            RuntimeException crash = assertThrows(RuntimeException.class, () -> trainer(dp, eval, ckpt, m -> {
                throw new RuntimeException("simulated driver crash after step " + m.get(m.size() - 1).step());
            }).run(init()));
            assertTrue(crash.getMessage().contains("after step 3"), crash.getMessage());
        }
        SparkTrainer.Result resumed;
        try (DataParallelStep dp = new DataParallelStep(jsc, train, 1, new ToyModelFactory(), order, 5, -1)) {
            resumed = trainer(dp, eval, ckpt, m -> { }).run(init());
        }
        assertEquals(3, resumed.resumedFromStep());
        assertEquals(STEPS - 3, resumed.metrics().size());
        // resumed on 1 worker instead of 2: equal within fp32 rounding of the summation order
        float[] a = full.state().params();
        float[] b = resumed.state().params();
        for (int i = 0; i < a.length; i++) assertEquals(a[i], b[i], 1e-5f, "param " + i);

        // same worker count: bit-identical
        String ckpt2 = dir.resolve("c").toUri().toString();
        try (DataParallelStep dp = new DataParallelStep(jsc, train, 2, new ToyModelFactory(), order, 3, -1)) {
            assertThrows(RuntimeException.class, () -> trainer(dp, eval, ckpt2, m -> {
                throw new RuntimeException("crash");
            }).run(init()));
            SparkTrainer.Result again = trainer(dp, eval, ckpt2, m -> { }).run(init());
            assertArrayEquals(a, again.state().params());
            assertArrayEquals(full.state().m(), again.state().m());
        }
    }
}
