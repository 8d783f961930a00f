package io.lakelora.jobs.runtime;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lakelora.jobs.testing.TestSpark;
import io.lakelora.train.Batch;
import io.lakelora.train.DataOrder;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

public class DataParallelStepTest {
    static SparkSession spark;
    static JavaSparkContext jsc;
    static final int N = 37;

    @BeforeAll
    static void start() {
        spark = TestSpark.start(java.util.Map.of("spark.master", "local[2,4]"));
        jsc = JavaSparkContext.fromSparkContext(spark.sparkContext());
    }

    @AfterAll
    static void stop() {
        TestSpark.stop(spark);
    }

    public static List<TokenBlock> blocks() {
        Random r = new Random(5);
        List<TokenBlock> out = new ArrayList<>();
        for (int i = 0; i < N; i++) {
            int[] ids = new int[9];
            int[] labels = new int[9];
            for (int t = 0; t < 9; t++) {
                ids[t] = r.nextInt(50);
                labels[t] = t < 3 ? Batch.IGNORE_INDEX : ids[t];
            }
            out.add(new TokenBlock(i, ids, labels, null));
        }
        return out;
    }

    public static float[] params() {
        float[] p = new float[ToyModelFactory.LAYOUT.size()];
        Random r = new Random(11);
        for (int i = 0; i < p.length; i++) p[i] = (float) r.nextGaussian();
        return p;
    }

    /** The same step computed in one loop on the driver, no Spark: the reference. */
    static GradSum reference(DataOrder order, long step, float[] p) {
        int[] rank = order.ranks(order.epochOf(step));
        int lo = order.firstRank(step);
        GradSum g = new GradSum(p.length);
        for (TokenBlock b : blocks()) {
            if (rank[b.index()] < lo || rank[b.index()] >= lo + order.globalBatch()) continue;
            var ls = ToyModelFactory.run(p, g.grads, DataParallelStep.toBatch(List.of(b)));
            g.lossSum += ls.lossSum();
            g.tokens += ls.tokens();
            g.blocks++;
        }
        return g;
    }

    @Test
    void oneTwoAndFourWorkersSumTheSameGradients() {
        DataOrder order = new DataOrder(N, 8, 42);
        assertEquals(4, order.stepsPerEpoch());
        float[] p = params();
        JavaRDD<TokenBlock> rdd = jsc.parallelize(blocks(), 3);
        for (long step : new long[] {0, 5}) {
            GradSum ref = reference(order, step, p);
            assertEquals(8, ref.blocks);
            for (int workers : new int[] {1, 2, 4}) {
                try (DataParallelStep s =
                        new DataParallelStep(jsc, rdd, workers, new ToyModelFactory(), order, 3, -1)) {
                    GradSum g = s.compute(step, p, 7);
                    assertEquals(ref.blocks, g.blocks);
                    assertEquals(ref.tokens, g.tokens);
                    assertEquals(ref.lossSum, g.lossSum, 1e-9 * Math.abs(ref.lossSum));
                    for (int i = 0; i < p.length; i++) {
                        assertEquals(
                                ref.grads[i],
                                g.grads[i],
                                1e-5f * (1 + Math.abs(ref.grads[i])),
                                "grad " + i + " with " + workers + " workers at step " + step);
                    }
                }
            }
        }
    }

    @Test
    void aFailedTaskIsRetriedWithoutChangingTheResult() {
        DataOrder order = new DataOrder(N, 8, 42);
        float[] p = params();
        JavaRDD<TokenBlock> rdd = jsc.parallelize(blocks(), 2);
        GradSum clean;
        try (DataParallelStep s = new DataParallelStep(jsc, rdd, 2, new ToyModelFactory(), order, 4, -1)) {
            clean = s.compute(2, p, 7);
        }
        try (DataParallelStep s = new DataParallelStep(jsc, rdd, 2, new ToyModelFactory(), order, 4, 2)) {
            GradSum retried = s.compute(2, p, 7);
            assertTrue(Arrays.equals(clean.grads, retried.grads), "retried task changed the gradients");
            assertEquals(clean.tokens, retried.tokens);
        }
    }
}
