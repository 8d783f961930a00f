package io.lakelora.jobs.runtime;

import io.lakelora.lora.AdapterLayout;
import io.lakelora.lora.TargetModule;
import io.lakelora.train.Batch;
import io.lakelora.train.LossSum;
import io.lakelora.train.TrainableModel;
import java.util.EnumSet;

/**
 * A tiny, exactly differentiable stand-in for the LLaMA model, to test the Spark orchestration fast: every target token
 * y after input x contributes 0.5 * (p[i] * p[i+1] - 1)^2 with i = (7x + y) mod P.
 */
public final class ToyModelFactory implements ModelFactory<String> {
    public static final AdapterLayout LAYOUT = new AdapterLayout(1, 4, 4, 4, 4, 2, EnumSet.of(TargetModule.Q));

    @Override
    public String cacheKey() {
        return "toy";
    }

    @Override
    public String loadBase(String[] deviceAddresses) {
        return "toy-base";
    }

    @Override
    public TrainableModel newModel(String base) {
        return new TrainableModel() {
            @Override
            public AdapterLayout layout() {
                return LAYOUT;
            }

            @Override
            public LossSum forwardBackward(float[] p, float[] g, Batch batch, long seed) {
                return run(p, g, batch);
            }

            @Override
            public LossSum evaluate(float[] p, Batch batch) {
                return run(p, null, batch);
            }
        };
    }

    public static LossSum run(float[] p, float[] g, Batch batch) {
        int n = p.length;
        double loss = 0;
        long tokens = 0;
        for (int b = 0; b < batch.batchSize(); b++) {
            int[] x = batch.inputIds()[b];
            int[] y = batch.labels()[b];
            for (int t = 1; t < x.length; t++) {
                if (y[t] == Batch.IGNORE_INDEX) continue;
                int i = Math.floorMod(7 * x[t - 1] + y[t], n);
                int j = (i + 1) % n;
                float e = p[i] * p[j] - 1f;
                loss += 0.5 * e * e;
                tokens++;
                if (g != null) {
                    g[i] += e * p[j];
                    g[j] += e * p[i];
                }
            }
        }
        return new LossSum(loss, tokens);
    }
}
