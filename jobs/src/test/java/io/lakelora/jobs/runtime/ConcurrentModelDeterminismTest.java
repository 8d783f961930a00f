package io.lakelora.jobs.runtime;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;

import io.lakelora.model.LlamaWeights;
import io.lakelora.train.Batch;
import io.lakelora.train.TrainableModel;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;

/**
 * Two task threads training on one executor-cached base at once must give the bits a single thread gives, every time
 * (data-parallel retries and resumes compare adapters bit for bit). Caught JIT-dependent rounding of the Vector API's
 * EXP and reduceLanes; see io.lakelora.kernel.Lanes.
 */
class ConcurrentModelDeterminismTest {
    @Test
    void concurrentModelsGiveTheSerialResult() throws Exception {
        List<TokenBlock> blocks = RealModelDataParallelTest.shakespeareBlocks();
        LoraLlamaFactory f = RealModelDataParallelTest.factory();
        LlamaWeights base = f.loadBase(new String[0]);
        float[] p = RealModelDataParallelTest.init(f).params();
        TrainableModel m1 = f.newModel(base);
        TrainableModel m2 = f.newModel(base);
        Batch b = DataParallelStep.toBatch(blocks.subList(0, 2));
        Batch c = DataParallelStep.toBatch(blocks.subList(2, 4));
        float[] refB = new float[p.length];
        float[] refC = new float[p.length];
        m1.forwardBackward(p, refB, b, 1);
        m1.forwardBackward(p, refC, c, 1);
        ExecutorService pool = Executors.newFixedThreadPool(2);
        for (int it = 0; it < 10; it++) {
            float[] gB = new float[p.length];
            float[] gC = new float[p.length];
            Future<?> x = pool.submit(() -> m1.forwardBackward(p, gB, b, 1));
            Future<?> y = pool.submit(() -> m2.forwardBackward(p, gC, c, 1));
            x.get();
            y.get();
            assertArrayEquals(refB, gB, "iteration " + it);
            assertArrayEquals(refC, gC, "iteration " + it);
        }
        pool.shutdown();
    }
}
