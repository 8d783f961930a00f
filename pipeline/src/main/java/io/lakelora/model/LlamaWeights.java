package io.lakelora.model;

import io.lakelora.lora.TargetModule;
import io.lakelora.model.nn.FrozenLinear;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.SplittableRandom;

/**
 * The frozen weights of a LLaMA-family model: embeddings (V, C) fp32, per-layer norms and linear layers (dense fp32 or
 * quantized), optional q/k/v biases (Qwen2), q/k norms (Qwen3, Gemma 3), Gemma 3's sandwich norms, the final norm,
 * and the lm_head (a view over the embedding when tied; never quantized, as bitsandbytes leaves the output layer in
 * full precision). Norm weights are the multipliers the norms apply ({@link LayerWeights}). Read-only after
 * construction.
 */
public final class LlamaWeights implements FrozenBase {
    private final ModelConfig arch;
    private final float[] embedding; // (V, C)
    private final List<LayerWeights> layers;
    private final float[] finalNorm; // (C)
    private final FrozenLinear lmHead; // (V, C)
    private final LayerSource source;

    public LlamaWeights(
            ModelConfig arch, float[] embedding, List<LayerWeights> layers, float[] finalNorm, FrozenLinear lmHead) {
        int V = arch.vocabSize();
        int C = arch.hiddenSize();
        if (embedding.length != (long) V * C) {
            throw new IllegalArgumentException(
                    "embed_tokens has " + embedding.length + " values, expected " + V + "x" + C);
        }
        if (layers.size() != arch.numLayers()) {
            throw new IllegalArgumentException("expected " + arch.numLayers() + " layers, got " + layers.size());
        }
        if (finalNorm.length != C) throw new IllegalArgumentException("norm.weight must have " + C + " values");
        if (lmHead.outFeatures() != V || lmHead.inFeatures() != C) {
            throw new IllegalArgumentException(
                    "lm_head is " + lmHead.outFeatures() + "x" + lmHead.inFeatures() + ", expected " + V + "x" + C);
        }
        for (int l = 0; l < layers.size(); l++) checkLayer(arch, l, layers.get(l));
        this.arch = arch;
        this.embedding = embedding;
        this.layers = Collections.unmodifiableList(new ArrayList<>(layers));
        this.finalNorm = finalNorm;
        this.lmHead = lmHead;
        this.source = LayerSource.inMemory(this.layers);
    }

    private static void checkLayer(ModelConfig a, int l, LayerWeights w) {
        int C = a.hiddenSize();
        if (w.attnNorm().length != C || w.mlpNorm().length != C) {
            throw new IllegalArgumentException("layer " + l + ": layernorm weights must have " + C + " values");
        }
        boolean qk = a.architecture().qkNorm();
        if (qk != (w.qNorm() != null) || qk != (w.kNorm() != null)) {
            throw new IllegalArgumentException("layer " + l + ": "
                    + a.architecture().hfClass() + (qk ? " needs" : " has no") + " q_norm and k_norm weights");
        }
        if (qk && (w.qNorm().length != a.headDim() || w.kNorm().length != a.headDim())) {
            throw new IllegalArgumentException(
                    "layer " + l + ": q_norm/k_norm weights must have head_dim = " + a.headDim() + " values");
        }
        boolean sandwich = a.sandwichNorms();
        if (sandwich != (w.postAttnNorm() != null) || sandwich != (w.postMlpNorm() != null)) {
            throw new IllegalArgumentException(
                    "layer " + l + ": " + a.architecture().hfClass() + (sandwich ? " needs" : " has no")
                            + " post-attention and post-feedforward norms");
        }
        if (sandwich && (w.postAttnNorm().length != C || w.postMlpNorm().length != C)) {
            throw new IllegalArgumentException("layer " + l + ": post norms must have " + C + " values");
        }
        for (TargetModule m : TargetModule.values()) {
            FrozenLinear lin = w.linear(m);
            int in = io.lakelora.lora.AdapterLayout.inFeatures(m, C, a.qDim(), a.intermediateSize());
            int out = io.lakelora.lora.AdapterLayout.outFeatures(m, C, a.qDim(), a.kvDim(), a.intermediateSize());
            if (lin.inFeatures() != in || lin.outFeatures() != out) {
                throw new IllegalArgumentException("layer " + l + " " + m.peftName() + " is " + lin.outFeatures() + "x"
                        + lin.inFeatures() + ", expected " + out + "x" + in);
            }
            boolean wantBias = hasBias(a, m);
            if (lin.hasBias() != wantBias) {
                throw new IllegalArgumentException(
                        "layer " + l + " " + m.peftName() + (wantBias ? " needs" : " must not have")
                                + " a bias (" + a.architecture().hfClass() + ", attention_bias=" + a.attentionBias()
                                + ", mlp_bias=" + a.mlpBias() + ")");
            }
        }
    }

    @Override
    public ModelConfig arch() {
        return arch;
    }

    /** Whether linear {@code m} has a bias under {@code cfg}: q/k/v with attention_bias (Qwen2), o_proj with Llama's,
     * Qwen3's and Gemma 3's attention_bias, the MLP with mlp_bias. */
    public static boolean hasBias(ModelConfig cfg, TargetModule m) {
        return switch (m) {
            case Q, K, V -> cfg.attentionBias();
            case O -> cfg.oProjBias();
            case GATE, UP, DOWN -> cfg.mlpBias();
        };
    }

    /** (V, C) token embeddings; do not modify. */
    public float[] embedding() {
        return embedding;
    }

    @Override
    public void embeddingRow(int id, float[] dst, int off) {
        int C = arch.hiddenSize();
        System.arraycopy(embedding, id * C, dst, off, C);
    }

    /** The layers as they are, in memory. */
    @Override
    public LayerSource layerSource() {
        return source;
    }

    public List<LayerWeights> layers() {
        return layers;
    }

    public LayerWeights layer(int l) {
        return layers.get(l);
    }

    /** (C) final norm weight; do not modify. */
    @Override
    public float[] finalNorm() {
        return finalNorm;
    }

    @Override
    public FrozenLinear lmHead() {
        return lmHead;
    }

    /** Bytes held by all weights (the tied head counted once). */
    public long residentBytes() {
        long b = 4L * embedding.length + 4L * finalNorm.length + lmHead.residentBytes();
        for (LayerWeights w : layers) b += w.residentBytes();
        return b;
    }

    /** Storage bits per parameter of the decoder's linear weights (32 when dense; codebooks and biases excluded). */
    public double linearBitsPerParam() {
        double bits = 0;
        long params = 0;
        for (LayerWeights w : layers) {
            for (TargetModule m : TargetModule.values()) {
                FrozenLinear lin = w.linear(m);
                long n = (long) lin.outFeatures() * lin.inFeatures();
                bits += lin.isQuantized() ? lin.quantizedWeight().bitsPerParam() * n : 32.0 * n;
                params += n;
            }
        }
        return bits / params;
    }

    /**
     * Random weights (uniform with standard deviation {@code std}: fast enough for billions of values; norm multipliers
     * 1 + std * noise; biases std * noise), layer by layer, each linear quantized right away when {@code quantizer} is
     * non-null, so the fp32 copy of only one matrix exists at a time. For tests and benchmarks. The q/k norms (Qwen3,
     * Gemma 3) and Gemma 3's sandwich norms are drawn after the layer's other weights, so a Llama-shaped model draws
     * the same values as before they existed.
     */
    public static LlamaWeights random(ModelConfig a, long seed, float std, WeightQuantizer quantizer) {
        SplittableRandom rnd = new SplittableRandom(seed);
        int V = a.vocabSize();
        int C = a.hiddenSize();
        float[] emb = uniform(rnd, V * C, std);
        List<LayerWeights> layers = new ArrayList<>();
        for (int l = 0; l < a.numLayers(); l++) {
            FrozenLinear[] lin = new FrozenLinear[TargetModule.values().length];
            for (TargetModule m : TargetModule.values()) {
                int in = io.lakelora.lora.AdapterLayout.inFeatures(m, C, a.qDim(), a.intermediateSize());
                int out = io.lakelora.lora.AdapterLayout.outFeatures(m, C, a.qDim(), a.kvDim(), a.intermediateSize());
                float[] w = uniform(rnd, Math.multiplyExact(out, in), std);
                boolean bias = hasBias(a, m);
                float[] b = bias ? uniform(rnd, out, std) : null;
                lin[m.ordinal()] = quantizer == null
                        ? FrozenLinear.dense(out, in, w, b)
                        : FrozenLinear.quantized(quantizer.quantize(w, out, in), b);
            }
            float[] n1 = norm(rnd, C, std);
            float[] n2 = norm(rnd, C, std);
            boolean qk = a.architecture().qkNorm();
            boolean sw = a.sandwichNorms();
            float[] qn = qk ? norm(rnd, a.headDim(), std) : null;
            float[] kn = qk ? norm(rnd, a.headDim(), std) : null;
            float[] pa = sw ? norm(rnd, C, std) : null;
            float[] pm = sw ? norm(rnd, C, std) : null;
            layers.add(
                    new LayerWeights(n1, lin[0], lin[1], lin[2], lin[3], n2, lin[4], lin[5], lin[6], qn, kn, pa, pm));
        }
        float[] fn = norm(rnd, C, std);
        FrozenLinear head = a.tieWordEmbeddings()
                ? FrozenLinear.denseView(V, C, emb, 0)
                : FrozenLinear.dense(V, C, uniform(rnd, V * C, std), null);
        return new LlamaWeights(a, emb, layers, fn, head);
    }

    private static float[] uniform(SplittableRandom rnd, int n, float std) {
        float[] x = new float[n];
        float a = (float) (std * Math.sqrt(3.0)); // uniform(-a, a) has standard deviation std
        for (int i = 0; i < n; i++) x[i] = a * (2f * (float) rnd.nextDouble() - 1f);
        return x;
    }

    private static float[] norm(SplittableRandom rnd, int n, float std) {
        float[] x = uniform(rnd, n, std);
        for (int i = 0; i < n; i++) x[i] += 1f;
        return x;
    }
}
