package io.lakelora.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.lakelora.kernel.Kernels;
import io.lakelora.kernel.ScalarKernels;
import io.lakelora.kernel.TestBackends;
import io.lakelora.lora.AdapterLayout;
import io.lakelora.lora.TargetModule;
import io.lakelora.model.nn.GradCheck;
import io.lakelora.train.Batch;
import io.lakelora.train.LossSum;
import java.util.EnumSet;
import java.util.Set;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Whole-model gradient checks: the fp32 analytic backward of {@link LoraLlama} against central differences of the
 * independent double-precision {@link RefLlama}, over every LoRA parameter, on tiny configs covering GQA, MHA, tied
 * embeddings, Qwen2 biases, rsLoRA, dropout, packed documents, ignored labels, NF4 base weights and every target module,
 * through both backends ({@link TestBackends}).
 */
class LoraLlamaGradTest {
    static final int V = 24;

    static Batch batch(SplittableRandom r, int B, int T, boolean packed) {
        int[][] ids = new int[B][T];
        int[][] labels = new int[B][T];
        int[][] pos = packed ? new int[B][T] : null;
        for (int b = 0; b < B; b++) {
            for (int t = 0; t < T; t++) {
                ids[b][t] = r.nextInt(V);
                labels[b][t] = (t == 2 || (b == 1 && t == 4)) ? Batch.IGNORE_INDEX : ids[b][t];
                if (packed) pos[b][t] = t < 3 + b ? t : t - (3 + b); // second document starts at 3 + b
            }
        }
        return new Batch(ids, labels, pos);
    }

    static float[] randomParams(AdapterLayout layout, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        return GradCheck.randn(r, layout.size(), 0.3); // B non-zero, so A gets gradients
    }

    /** Analytic (fp32) vs double finite differences, every tensor of the slab. */
    static void check(
            Kernels kern, LlamaWeights w, LoraSpec spec, Batch batch, long seed, boolean recompute, double tol) {
        LoraLlama model = new LoraLlama(w, spec, kern, recompute);
        AdapterLayout layout = model.layout();
        float[] params = randomParams(layout, 77);
        float[] grads = new float[layout.size()];
        LossSum ls = model.forwardBackward(params, grads, batch, seed);
        RefLlama ref = new RefLlama(w, spec);
        boolean drop = spec.dropout() > 0;
        double refLoss = ref.loss(RefLlama.d(params), batch, seed, drop);
        System.out.printf("loss fp32 %.7f double %.7f tokens %d%n", ls.lossSum(), refLoss, ls.tokens());
        assertEquals(refLoss, ls.lossSum(), 1e-5 * refLoss);
        assertEquals(batch.targetTokens(), ls.tokens());
        double[] num = GradCheck.numeric(p -> ref.loss(p, batch, seed, drop), RefLlama.d(params), 1e-5);
        for (AdapterLayout.Tensor t : layout.tensors()) {
            double[] part = java.util.Arrays.copyOfRange(num, t.offset(), t.offset() + t.size());
            GradCheck.assertClose(t.peftKey(), grads, t.offset(), part, tol);
        }
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"scalar", "vector"})
    void gqaUntiedAllLinear(String backend) {
        Kernels kern = TestBackends.of(backend);
        ModelConfig a = TestConfigs.llama(V, 16, 20, 2, 4, 2, false);
        LlamaWeights w = LlamaWeights.random(a, 1, 0.3f, null);
        LoraSpec spec = LoraSpec.of(3, 6.0, false, 0.0, EnumSet.allOf(TargetModule.class));
        check(kern, w, spec, batch(new SplittableRandom(2), 2, 6, false), 0, false, 1e-4);
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"scalar", "vector"})
    void tiedQwen2BiasesRsLoraDropoutPackedRecompute(String backend) {
        Kernels kern = TestBackends.of(backend);
        ModelConfig a = TestConfigs.qwen2(V, 16, 20, 2, 4, 1, true);
        LlamaWeights w = LlamaWeights.random(a, 3, 0.3f, null);
        LoraSpec spec = LoraSpec.of(4, 8.0, true, 0.2, EnumSet.allOf(TargetModule.class));
        check(kern, w, spec, batch(new SplittableRandom(4), 2, 7, true), 99, true, 1e-4);
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"scalar", "vector"})
    void llamaAttentionAndMlpBiasesWithSlidingWindow(String backend) {
        Kernels kern = TestBackends.of(backend);
        ModelConfig a = TestConfigs.llama(V, 16, 20, 2, 4, 2, false).toBuilder()
                .attentionBias(true)
                .mlpBias(true)
                .slidingWindow(3)
                .build();
        LlamaWeights w = LlamaWeights.random(a, 9, 0.3f, null);
        assertEquals(true, w.layer(0).o().hasBias() && w.layer(1).down().hasBias());
        LoraSpec spec = LoraSpec.of(2, 3.0, false, 0.0, EnumSet.allOf(TargetModule.class));
        check(kern, w, spec, batch(new SplittableRandom(10), 1, 8, true), 0, false, 1e-4);
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"scalar", "vector"})
    void nf4BaseMhaSubsetOfTargets(String backend) {
        Kernels kern = TestBackends.of(backend);
        ModelConfig a = TestConfigs.llama(V, 16, 24, 2, 2, 2, false);
        LlamaWeights w = LlamaWeights.random(a, 5, 0.3f, TestQuant::nf4);
        assertEquals(true, w.layer(0).q().isQuantized());
        LoraSpec spec = LoraSpec.of(2, 4.0, false, 0.0, EnumSet.of(TargetModule.Q, TargetModule.V, TargetModule.DOWN));
        check(kern, w, spec, batch(new SplittableRandom(6), 1, 8, false), 0, false, 1e-4);
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"scalar", "vector"})
    void recomputeGivesIdenticalGradientsAndBackwardAccumulates(String backend) {
        Kernels kern = TestBackends.of(backend);
        ModelConfig a = TestConfigs.llama(V, 16, 20, 2, 4, 2, false);
        LlamaWeights w = LlamaWeights.random(a, 7, 0.3f, null);
        LoraSpec spec = LoraSpec.of(2, 4.0, false, 0.1, EnumSet.allOf(TargetModule.class));
        Batch batch = batch(new SplittableRandom(8), 2, 6, false);
        LoraLlama plain = new LoraLlama(w, spec, kern, false);
        LoraLlama recomp = new LoraLlama(w, spec, kern, true);
        float[] params = randomParams(plain.layout(), 1);
        float[] g1 = new float[params.length];
        float[] g2 = new float[params.length];
        LossSum l1 = plain.forwardBackward(params, g1, batch, 5);
        LossSum l2 = recomp.forwardBackward(params, g2, batch, 5);
        assertEquals(l1, l2);
        assertArrayEquals(g1, g2);
        // a second call accumulates: grads double; bit-exact (x + x) with the scalar products, which compute
        // alpha * sum + beta * c; the vector ones fold c into their FMA chains, so there to fp32 rounding
        plain.forwardBackward(params, g1, batch, 5);
        float maxG = 0;
        for (float g : g2) maxG = Math.max(maxG, Math.abs(g));
        float tol = backend.equals("scalar") ? 0f : 1e-5f * maxG;
        for (int i = 0; i < g1.length; i++) assertEquals(2 * g2[i], g1[i], tol);
        // a different dropout seed changes the loss; evaluate (no dropout) equals a dropout-free forward
        LossSum l3 = plain.forwardBackward(params, new float[params.length], batch, 6);
        assertNotEquals(l1.lossSum(), l3.lossSum());
        LoraLlama noDrop = new LoraLlama(w, spec.withoutDropout(), kern, false);
        LossSum l4 = noDrop.forwardBackward(params, new float[params.length], batch, 5);
        assertEquals(l4.lossSum(), plain.evaluate(params, batch).lossSum(), 1e-9);
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"scalar", "vector"})
    void qwen3QkNormsAndHeadDimUnlikeHiddenOverHeads(String backend) {
        Kernels kern = TestBackends.of(backend);
        // head_dim 6 while hidden / heads = 4: q_proj is (24, 16), o_proj (16, 24)
        ModelConfig a = TestConfigs.qwen3(V, 16, 20, 2, 4, 2, 6, true);
        LlamaWeights w = LlamaWeights.random(a, 11, 0.3f, null);
        assertEquals(24, w.layer(0).q().outFeatures());
        assertEquals(6, w.layer(1).kNorm().length);
        assertEquals(false, w.layer(0).q().hasBias(), "Qwen3 has no q/k/v bias");
        LoraSpec spec = LoraSpec.of(3, 6.0, false, 0.0, EnumSet.allOf(TargetModule.class));
        check(kern, w, spec, batch(new SplittableRandom(12), 2, 7, true), 0, false, 1e-4);
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"scalar", "vector"})
    void qwen3Nf4DropoutRecompute(String backend) {
        Kernels kern = TestBackends.of(backend);
        ModelConfig a = TestConfigs.qwen3(V, 16, 24, 2, 2, 1, 8, false);
        LlamaWeights w = LlamaWeights.random(a, 13, 0.3f, TestQuant::nf4);
        assertEquals(true, w.layer(0).o().isQuantized());
        LoraSpec spec = LoraSpec.of(2, 4.0, true, 0.25, EnumSet.allOf(TargetModule.class));
        check(kern, w, spec, batch(new SplittableRandom(14), 2, 6, false), 7, true, 1e-4);
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"scalar", "vector"})
    void gemma3SandwichNormsGeluSlidingLayersAndQueryScalar(String backend) {
        Kernels kern = TestBackends.of(backend);
        // 3 layers, pattern 2: sliding, global, sliding; query_pre_attn_scalar 10 != head_dim 8
        ModelConfig a = TestConfigs.gemma3(V, 16, 20, 3, 4, 2, 8, 10.0, 2);
        assertArrayEquals(new boolean[] {true, false, true}, a.slidingLayers());
        LlamaWeights w = LlamaWeights.random(a, 15, 0.3f, null);
        LoraSpec spec = LoraSpec.of(3, 6.0, false, 0.0, EnumSet.allOf(TargetModule.class));
        // T = 9 > window 3: the sliding layers see fewer keys than the global one
        check(kern, w, spec, batch(new SplittableRandom(16), 2, 9, true), 0, false, 1e-4);
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"scalar", "vector"})
    void gemma3Nf4DropoutRecomputeSubsetOfTargets(String backend) {
        Kernels kern = TestBackends.of(backend);
        ModelConfig a = TestConfigs.gemma3(V, 16, 24, 2, 2, 1, 8, 8.0, 2);
        LlamaWeights w = LlamaWeights.random(a, 17, 0.3f, TestQuant::nf4);
        LoraSpec spec = LoraSpec.of(2, 4.0, false, 0.2, EnumSet.of(TargetModule.K, TargetModule.O, TargetModule.UP));
        check(kern, w, spec, batch(new SplittableRandom(18), 2, 8, false), 3, true, 1e-4);
    }

    @Test
    void badInputsAreRejected() {
        ModelConfig a = TestConfigs.llama(V, 8, 8, 1, 2, 2, true);
        LoraLlama m = new LoraLlama(
                LlamaWeights.random(a, 1, 0.1f, null),
                LoraSpec.of(2, 2, false, 0, Set.of(TargetModule.Q)),
                new ScalarKernels(),
                false);
        float[] p = new float[m.layout().size()];
        Batch bad = new Batch(new int[][] {{1, 2, V}}, new int[][] {{1, 2, 3}}, null);
        IllegalArgumentException e =
                assertThrows(IllegalArgumentException.class, () -> m.forwardBackward(p, new float[p.length], bad, 0));
        assertEquals("input_ids[0][2] = 24 is outside the vocabulary [0, 24)", e.getMessage());
        Batch badLabel = new Batch(new int[][] {{1, 2, 3}}, new int[][] {{1, -5, 3}}, null);
        e = assertThrows(IllegalArgumentException.class, () -> m.evaluate(p, badLabel));
        assertEquals("labels[0][1] = -5 must be -100 (ignored) or a token id in [0, 24)", e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> m.evaluate(new float[3], badLabel));
        assertEquals("params slab has 3 floats, the adapter layout needs " + p.length, e.getMessage());
    }
}
