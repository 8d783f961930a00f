package io.lakelora.jobs.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lakelora.jobs.lake.LakeFs;
import io.lakelora.jobs.runtime.DataParallelStep;
import io.lakelora.jobs.runtime.DataParallelStepTest;
import io.lakelora.jobs.runtime.TokenBlock;
import io.lakelora.jobs.runtime.ToyModelFactory;
import io.lakelora.jobs.testing.TestSpark;
import io.lakelora.lora.AdapterState;
import io.lakelora.train.DataOrder;
import io.lakelora.train.LrSchedule;
import io.lakelora.train.OptimizerConfig;
import io.lakelora.train.OptimizerStep;
import io.lakelora.train.StepMetric;
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
        spark = TestSpark.start(java.util.Map.of("spark.master", "local[2,4]"));
        jsc = JavaSparkContext.fromSparkContext(spark.sparkContext());
    }

    @AfterAll
    static void stop() {
        TestSpark.stop(spark);
    }

    static final long STEPS = 8;

    SparkTrainer trainer(
            DataParallelStep dp,
            JavaRDD<TokenBlock> eval,
            String ckptDir,
            java.util.function.Consumer<List<StepMetric>> sink) {
        return trainer(dp, eval, ckptDir, sink, new OptimizerConfig(0.05, null, null, 0.01, 1.0));
    }

    SparkTrainer trainer(
            DataParallelStep dp,
            JavaRDD<TokenBlock> eval,
            String ckptDir,
            java.util.function.Consumer<List<StepMetric>> sink,
            OptimizerConfig oc) {
        OptimizerStep opt = new OptimizerStep(oc, new LrSchedule(LrSchedule.Type.COSINE, oc.lr(), 2, STEPS));
        CheckpointStore store =
                new CheckpointStore(new LakeFs(spark.sparkContext().hadoopConfiguration()), ckptDir, 2);
        return new SparkTrainer(
                jsc,
                dp,
                eval,
                new ToyModelFactory(),
                opt,
                new SparkTrainer.Settings("run-1", STEPS, 4, 3, 42, 4, "hash-1"),
                store,
                sink);
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
            full = trainer(dp, eval, dir.resolve("a").toUri().toString(), sunk::addAll)
                    .run(init());
        }
        assertEquals(STEPS, full.state().step());
        assertEquals(STEPS, sunk.size());
        assertTrue(full.metrics().get(0).loss() > full.lastTrainLoss(), "train loss did not fall: " + full.metrics());
        assertFalse(Double.isNaN(full.evalLoss()));

        // the same run, crashing right after the checkpoint at step 3, then rerun
        String ckpt = dir.resolve("b").toUri().toString();
        try (DataParallelStep dp = new DataParallelStep(jsc, train, 2, new ToyModelFactory(), order, 3, -1)) {
            RuntimeException crash = assertThrows(
                    RuntimeException.class,
                    () -> trainer(dp, eval, ckpt, m -> {
                                throw new RuntimeException("simulated driver crash after step "
                                        + m.get(m.size() - 1).step());
                            })
                            .run(init()));
            assertTrue(crash.getMessage().contains("after step 3"), crash.getMessage());
        }
        SparkTrainer.Result resumed;
        try (DataParallelStep dp = new DataParallelStep(jsc, train, 1, new ToyModelFactory(), order, 5, -1)) {
            resumed = trainer(dp, eval, ckpt, m -> {}).run(init());
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
            assertThrows(
                    RuntimeException.class,
                    () -> trainer(dp, eval, ckpt2, m -> {
                                throw new RuntimeException("crash");
                            })
                            .run(init()));
            SparkTrainer.Result again = trainer(dp, eval, ckpt2, m -> {}).run(init());
            assertArrayEquals(a, again.state().params());
            assertArrayEquals(
                    full.optimizerState().floats("m"), again.optimizerState().floats("m"));
        }
    }

    @Test
    void adamW8bitRunResumedOnTheDriverEndsBitIdentical(@TempDir Path dir) {
        List<TokenBlock> blocks = DataParallelStepTest.blocks();
        JavaRDD<TokenBlock> train = jsc.parallelize(blocks.subList(0, 32), 2);
        DataOrder order = new DataOrder(32, 8, 42);
        OptimizerConfig eight = new OptimizerConfig("adamw8bit", 0.05, null, null, 0.01, 1.0);
        try (DataParallelStep dp = new DataParallelStep(jsc, train, 2, new ToyModelFactory(), order, 3, -1)) {
            SparkTrainer.Result full = trainer(
                            dp, null, dir.resolve("a").toUri().toString(), m -> {}, eight)
                    .run(init());
            assertEquals("adamw8bit", full.optimizerState().type());
            String ckpt = dir.resolve("b").toUri().toString();
            assertThrows(
                    RuntimeException.class,
                    () -> trainer(
                                    dp,
                                    null,
                                    ckpt,
                                    m -> {
                                        throw new RuntimeException("crash");
                                    },
                                    eight)
                            .run(init()));
            SparkTrainer.Result again = trainer(dp, null, ckpt, m -> {}, eight).run(init());
            assertEquals(3, again.resumedFromStep());
            assertArrayEquals(full.state().params(), again.state().params());
            assertTrue(full.optimizerState().sameAs(again.optimizerState()), "8-bit states bit-identical");
            // resuming it with fp32 AdamW is refused, naming both optimizers
            IllegalArgumentException e = assertThrows(
                    IllegalArgumentException.class,
                    () -> trainer(dp, null, ckpt, m -> {}).run(init()));
            assertTrue(e.getMessage().contains("adamw8bit") && e.getMessage().contains("Fix:"), e.getMessage());
        }
    }

    @Test
    void localSgdWithOneWorkerEqualsSynchronousTraining(@TempDir Path dir) {
        List<TokenBlock> blocks = DataParallelStepTest.blocks();
        JavaRDD<TokenBlock> train = jsc.parallelize(blocks.subList(0, 32), 2);
        DataOrder order = new DataOrder(32, 8, 42);
        OptimizerConfig oc = new OptimizerConfig(0.05, null, null, 0.01, 1.0);
        LrSchedule sched = new LrSchedule(LrSchedule.Type.COSINE, oc.lr(), 2, STEPS);
        DataParallelStep.OptimizerSpec spec = new DataParallelStep.OptimizerSpec(oc, sched);
        CheckpointStore store = new CheckpointStore(
                new LakeFs(spark.sparkContext().hadoopConfiguration()),
                dir.resolve("sync").toUri().toString(),
                2);
        SparkTrainer.Result sync;
        SparkTrainer.Result local;
        List<StepMetric> localMetrics = new ArrayList<>();
        try (DataParallelStep dp = new DataParallelStep(jsc, train, 1, new ToyModelFactory(), order, 3, -1)) {
            sync = new SparkTrainer(
                            jsc,
                            dp,
                            null,
                            new ToyModelFactory(),
                            new OptimizerStep(oc, sched),
                            new SparkTrainer.Settings("sync", STEPS, 0, 4, 42, 4, "h"),
                            store,
                            m -> {})
                    .run(init());
            CheckpointStore store2 = new CheckpointStore(
                    new LakeFs(spark.sparkContext().hadoopConfiguration()),
                    dir.resolve("local").toUri().toString(),
                    2);
            local = new SparkTrainer(
                            jsc,
                            dp,
                            null,
                            new ToyModelFactory(),
                            new OptimizerStep(oc, sched),
                            new SparkTrainer.Settings("local", STEPS, 0, 4, 42, 4, "h", 3, spec),
                            store2,
                            localMetrics::addAll)
                    .run(init());
        }
        assertEquals(STEPS, local.state().step());
        // rounds of 3, 3 and 2 steps: one Spark job per round
        assertEquals(
                List.of(3L, 6L, 8L), localMetrics.stream().map(StepMetric::step).toList());
        assertArrayEquals(sync.state().params(), local.state().params());
        assertArrayEquals(
                sync.optimizerState().floats("v"), local.optimizerState().floats("v"));
    }

    @Test
    void localSgdWithTwoWorkersAveragesAndLearns(@TempDir Path dir) {
        List<TokenBlock> blocks = DataParallelStepTest.blocks();
        JavaRDD<TokenBlock> train = jsc.parallelize(blocks.subList(0, 32), 2);
        DataOrder order = new DataOrder(32, 8, 42);
        OptimizerConfig oc = new OptimizerConfig(0.05, null, null, 0.01, 1.0);
        DataParallelStep.OptimizerSpec spec =
                new DataParallelStep.OptimizerSpec(oc, new LrSchedule(LrSchedule.Type.COSINE, oc.lr(), 2, STEPS));
        List<StepMetric> ms = new ArrayList<>();
        try (DataParallelStep dp = new DataParallelStep(jsc, train, 2, new ToyModelFactory(), order, 3, -1)) {
            SparkTrainer.Result r = new SparkTrainer(
                            jsc,
                            dp,
                            null,
                            new ToyModelFactory(),
                            new OptimizerStep(oc, new LrSchedule(LrSchedule.Type.COSINE, oc.lr(), 2, STEPS)),
                            new SparkTrainer.Settings("local2", STEPS, 0, 4, 42, 4, "h", 4, spec),
                            new CheckpointStore(
                                    new LakeFs(spark.sparkContext().hadoopConfiguration()),
                                    dir.toUri().toString(),
                                    2),
                            ms::addAll)
                    .run(init());
            assertEquals(STEPS, r.state().step());
        }
        assertEquals(2, ms.size());
        assertTrue(ms.get(1).loss() < ms.get(0).loss(), "local SGD did not learn: " + ms);
    }
}
