package io.lakelora.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lakelora.kernel.Kernels;
import io.lakelora.kernel.ScalarKernels;
import io.lakelora.kernel.VectorKernels;
import io.lakelora.lora.TargetModule;
import io.lakelora.train.Batch;
import io.lakelora.train.LossSum;
import java.util.EnumSet;
import java.util.SplittableRandom;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The layers split their work over the kernel threads (attention per KV head, norms/RoPE per row range, SwiGLU and
 * residual adds per element range, the LM head's softmax per row range). The same step on 1 and 2 threads must give
 * the same loss and gradient bits, and both must agree with the scalar specification.
 */
class LoraLlamaThreadsTest {

    @ParameterizedTest
    @CsvSource({"llama, 0.0", "llama, 0.1", "mistral_window, 0.0", "qwen2_tied, 0.1"})
    void oneAndTwoThreadsGiveIdenticalBitsAndMatchTheScalarSpec(String variant, double dropout) {
        // big enough that every Par split really splits: N*F = 2*192*352 elements, N = 384 rows, 2 KV heads
        ModelConfig a = switch (variant) {
            case "llama" -> TestConfigs.llama(300, 128, 352, 2, 4, 2, false);
            // a 40-token sliding window: attention row blocks whose key span starts mid-sequence
            case "mistral_window" ->
                TestConfigs.of(Architecture.MISTRAL, 300, 128, 352, 2, 4, 2, false).toBuilder()
                        .slidingWindow(40)
                        .build();
            case "qwen2_tied" -> TestConfigs.qwen2(300, 128, 352, 2, 4, 1, true);
            default -> throw new IllegalArgumentException(variant);
        };
        LlamaWeights w = LlamaWeights.random(a, 11, 0.3f, TestQuant::nf4);
        LoraSpec spec = LoraSpec.of(4, 8.0, false, dropout, EnumSet.allOf(TargetModule.class));
        Batch batch = batch(a.vocabSize(), 2, 192, 5);
        float[] params = new float[spec.layout(a).size()];
        SplittableRandom r = new SplittableRandom(2);
        for (int i = 0; i < params.length; i++) params[i] = (float) (0.2 * (2 * r.nextDouble() - 1));

        float[] g1 = new float[params.length];
        float[] g2 = new float[params.length];
        float[] gs = new float[params.length];
        LossSum l1 = step(w, spec, new VectorKernels(1), params, g1, batch);
        LossSum l2 = step(w, spec, new VectorKernels(2), params, g2, batch);
        LossSum ls = step(w, spec, new ScalarKernels(), params, gs, batch);

        assertEquals(l1.lossSum(), l2.lossSum(), 0.0, "loss differs between 1 and 2 threads");
        assertEquals(l1.tokens(), l2.tokens());
        assertArrayEquals(bits(g1), bits(g2), "gradient bits differ between 1 and 2 threads");
        // and the parallel result is the right one: the scalar specification, to fp32 rounding
        assertEquals(ls.lossSum(), l2.lossSum(), 1e-4 * Math.abs(ls.lossSum()));
        double num = 0, den = 0;
        for (int i = 0; i < gs.length; i++) {
            num += (g2[i] - gs[i]) * (double) (g2[i] - gs[i]);
            den += gs[i] * (double) gs[i];
        }
        assertTrue(den > 0, "no gradient at all");
        assertTrue(
                Math.sqrt(num / den) < 1e-4,
                "2-thread gradient vs scalar spec: relative error " + Math.sqrt(num / den));
    }

    private static LossSum step(LlamaWeights w, LoraSpec spec, Kernels k, float[] params, float[] grads, Batch b) {
        return new LoraLlama(w, spec, k, false).forwardBackward(params, grads, b, 42L);
    }

    /** Two packed documents per row (position ids restart), some ignored labels. */
    private static Batch batch(int V, int B, int T, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        int[][] ids = new int[B][T];
        int[][] lab = new int[B][T];
        int[][] pos = new int[B][T];
        for (int b = 0; b < B; b++) {
            int cut = T / 3 + b * 7;
            for (int t = 0; t < T; t++) {
                ids[b][t] = r.nextInt(V);
                lab[b][t] = t % 5 == 0 ? Batch.IGNORE_INDEX : ids[b][t];
                pos[b][t] = t < cut ? t : t - cut;
            }
        }
        return new Batch(ids, lab, pos);
    }

    private static int[] bits(float[] x) {
        int[] b = new int[x.length];
        for (int i = 0; i < x.length; i++) b[i] = Float.floatToRawIntBits(x[i]);
        return b;
    }
}
