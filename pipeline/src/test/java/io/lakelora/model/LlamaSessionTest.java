package io.lakelora.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lakelora.kernel.ScalarKernels;
import io.lakelora.lora.TargetModule;
import io.lakelora.model.nn.GradCheck;
import io.lakelora.train.Batch;
import java.util.EnumSet;
import java.util.Set;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** The KV-cache inference path against the double reference and the training forward. */
class LlamaSessionTest {
    static final int V = 40;
    final ModelConfig arch = TestConfigs.qwen2(V, 16, 24, 2, 4, 2, true);
    final LlamaWeights weights = LlamaWeights.random(arch, 11, 0.3f, null);
    final LoraSpec spec = LoraSpec.of(2, 4.0, false, 0.0, EnumSet.of(TargetModule.Q, TargetModule.O, TargetModule.UP));
    final float[] params =
            GradCheck.randn(new SplittableRandom(12), spec.layout(arch).size(), 0.3);
    final LoraAdapter adapter = new LoraAdapter(spec, spec.layout(arch), params);
    final int[] tokens = new SplittableRandom(13).ints(12, 0, V).toArray();

    @Test
    void scoreMatchesDoubleReferenceAndTrainingForward() {
        LlamaSession s = new LlamaSession(weights, new ScalarKernels(), adapter, 32, 5); // 3 chunks
        double[] score = s.score(tokens);
        Batch batch = new Batch(new int[][] {tokens}, new int[][] {tokens}, null);
        double ref = new RefLlama(weights, spec).loss(RefLlama.d(params), batch, 0, false);
        assertEquals(tokens.length - 1, score[1]);
        assertEquals(ref, score[0], 1e-5 * ref);
        double train = new LoraLlama(weights, spec, new ScalarKernels(), false)
                .evaluate(params, batch)
                .lossSum();
        assertEquals(train, score[0], 1e-5 * ref);
    }

    /**
     * Qwen3 (q/k norms, head_dim unlike hidden / heads) and Gemma 3 (window 3 on sliding layers while the cache holds 12
     * tokens, two RoPE bases, query_pre_attn_scalar, sandwich norms, scaled embeddings, gelu-tanh): chunked scoring
     * with the KV cache equals the double reference and the training forward; token-by-token decoding equals the
     * whole prompt.
     */
    @Test
    void qwen3AndGemma3SessionsMatchTheReferenceAndDecodeConsistently() {
        for (ModelConfig a : new ModelConfig[] {
            TestConfigs.qwen3(V, 16, 24, 2, 4, 2, 6, true), TestConfigs.gemma3(V, 16, 24, 3, 4, 2, 8, 12.0, 3)
        }) {
            LlamaWeights w = LlamaWeights.random(a, 21, 0.3f, null);
            LoraSpec sp =
                    LoraSpec.of(2, 4.0, false, 0.0, EnumSet.of(TargetModule.K, TargetModule.O, TargetModule.GATE));
            float[] p = GradCheck.randn(new SplittableRandom(22), sp.layout(a).size(), 0.3);
            LoraAdapter ad = new LoraAdapter(sp, sp.layout(a), p);
            String name = a.architecture().hfClass();
            double[] score = new LlamaSession(w, new ScalarKernels(), ad, 32, 5).score(tokens);
            Batch batch = new Batch(new int[][] {tokens}, new int[][] {tokens}, null);
            double ref = new RefLlama(w, sp).loss(RefLlama.d(p), batch, 0, false);
            assertEquals(ref, score[0], 1e-5 * ref, name);
            double train = new LoraLlama(w, sp, new ScalarKernels(), false)
                    .evaluate(p, batch)
                    .lossSum();
            assertEquals(train, score[0], 1e-5 * ref, name);
            float[] whole = new LlamaSession(w, new ScalarKernels(), ad, 32, 64)
                    .forward(tokens)
                    .clone();
            LlamaSession one = new LlamaSession(w, new ScalarKernels(), ad, 32, 64);
            float[] last = null;
            for (int t : tokens) last = one.forward(new int[] {t});
            for (int v = 0; v < V; v++) assertEquals(whole[v], last[v], 1e-5, name);
        }
    }

    @Test
    void chunkedPromptAndTokenByTokenGiveTheSameLogits() {
        float[] whole = new LlamaSession(weights, new ScalarKernels(), adapter, 32, 64)
                .forward(tokens)
                .clone();
        float[] chunked = new LlamaSession(weights, new ScalarKernels(), adapter, 32, 5)
                .forward(tokens)
                .clone();
        LlamaSession one = new LlamaSession(weights, new ScalarKernels(), adapter, 32, 64);
        float[] last = null;
        for (int t : tokens) last = one.forward(new int[] {t});
        assertEquals(tokens.length, one.length());
        for (int v = 0; v < V; v++) {
            assertEquals(whole[v], chunked[v], 1e-5);
            assertEquals(whole[v], last[v], 1e-5);
        }
    }

    @Test
    void adapterChangesTheOutput() {
        float[] with = new LlamaSession(weights, new ScalarKernels(), adapter, 32, 64)
                .forward(tokens)
                .clone();
        float[] without = new LlamaSession(weights, new ScalarKernels(), null, 32, 64).forward(tokens);
        double diff = 0;
        for (int v = 0; v < V; v++) diff = Math.max(diff, Math.abs(with[v] - without[v]));
        assertTrue(diff > 1e-2, "adapter moved logits by only " + diff);
    }

    @Test
    void generationIsReproducibleAndStopsAtEos() {
        LlamaSession s = new LlamaSession(weights, new ScalarKernels(), null, 64, 16);
        int[] prompt = {1, 5, 7};
        Generator.Result g1 = Generator.generate(s, prompt, Generator.Config.greedy(20, Set.of()), null);
        assertEquals(20, g1.tokens().length);
        Generator.Result g2 = Generator.generate(s, prompt, Generator.Config.greedy(20, Set.of()), null);
        assertArrayEquals(g1.tokens(), g2.tokens());
        // greedy token i is the argmax after prompt + tokens[..i)
        LlamaSession check = new LlamaSession(weights, new ScalarKernels(), null, 64, 16);
        int[] seq = new int[prompt.length + 5];
        System.arraycopy(prompt, 0, seq, 0, prompt.length);
        System.arraycopy(g1.tokens(), 0, seq, prompt.length, 5);
        assertEquals(g1.tokens()[5], Sampler.argmax(check.forward(seq)));
        // EOS: stop right after the third generated token's id appears
        int eos = g1.tokens()[2];
        Generator.Result g3 = Generator.generate(s, prompt, Generator.Config.greedy(20, Set.of(eos)), null);
        assertTrue(g3.stoppedAtEos());
        int first = 0;
        while (g1.tokens()[first] != eos) first++;
        assertEquals(first + 1, g3.tokens().length);
        // seeded sampling reproduces; top-k 1 equals greedy
        Generator.Config sample = new Generator.Config(20, 1.0f, 0, 0.9f, 42L, Set.of());
        assertArrayEquals(
                Generator.generate(s, prompt, sample, null).tokens(),
                Generator.generate(s, prompt, sample, null).tokens());
        Generator.Config topk1 = new Generator.Config(20, 0.7f, 1, 1f, 7L, Set.of());
        assertArrayEquals(
                g1.tokens(), Generator.generate(s, prompt, topk1, null).tokens());
    }

    @Test
    void capacityAndTokenErrors() {
        LlamaSession s = new LlamaSession(weights, new ScalarKernels(), null, 4, 4);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> s.forward(new int[] {1, V}));
        assertEquals("token id 40 at index 1 is outside the vocabulary [0, 40)", e.getMessage());
        s.reset();
        IllegalStateException full =
                assertThrows(IllegalStateException.class, () -> s.forward(new int[] {1, 2, 3, 4, 5}));
        assertTrue(
                full.getMessage().startsWith("KV cache full: 4 + 1 tokens exceed the capacity 4"), full.getMessage());
    }
}
