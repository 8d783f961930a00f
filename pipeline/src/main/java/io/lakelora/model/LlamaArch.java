package io.lakelora.model;

/**
 * The shape of a LLaMA-family decoder as the compute needs it (resolved from a Hugging Face {@code config.json}, or
 * built directly for tests and benchmarks). Dimension letters as in {@code io.lakelora.model.nn}.
 *
 * @param vocab          V
 * @param hidden         C
 * @param ffn            F (MLP intermediate size)
 * @param layers         L
 * @param heads          NH
 * @param kvHeads        NKV (GQA; NH % NKV == 0)
 * @param headDim        HS
 * @param rmsNormEps     RMSNorm epsilon
 * @param ropeInvFreq    (HS/2) RoPE inverse frequencies, scaling (e.g. llama3) already applied
 * @param tiedEmbeddings lm_head shares the embedding matrix
 * @param attentionBias  q/k/v projections have biases (Qwen2)
 */
public record LlamaArch(int vocab, int hidden, int ffn, int layers, int heads, int kvHeads, int headDim,
                        float rmsNormEps, double[] ropeInvFreq, boolean tiedEmbeddings, boolean attentionBias) {

    public LlamaArch {
        if (vocab <= 0 || hidden <= 0 || ffn <= 0 || layers <= 0 || heads <= 0 || kvHeads <= 0 || headDim <= 0) {
            throw new IllegalArgumentException("model dimensions must be positive: vocab=" + vocab + " hidden=" + hidden
                    + " ffn=" + ffn + " layers=" + layers + " heads=" + heads + " kvHeads=" + kvHeads
                    + " headDim=" + headDim);
        }
        if (heads % kvHeads != 0) {
            throw new IllegalArgumentException("num_attention_heads " + heads + " must be a multiple of "
                    + "num_key_value_heads " + kvHeads);
        }
        if (headDim % 2 != 0) throw new IllegalArgumentException("head_dim must be even for RoPE, got " + headDim);
        if (ropeInvFreq.length != headDim / 2) {
            throw new IllegalArgumentException("RoPE needs head_dim/2 = " + headDim / 2 + " inverse frequencies, got "
                    + ropeInvFreq.length);
        }
        if (!(rmsNormEps > 0)) throw new IllegalArgumentException("rms_norm_eps must be > 0, got " + rmsNormEps);
        ropeInvFreq = ropeInvFreq.clone();
    }

    /** Plain RoPE ({@code inv_freq = 1 / theta^(2i/HS)}, as HF computes it in fp32) for tests and benchmarks. */
    public static double[] defaultInvFreq(int headDim, double theta) {
        double[] f = new double[headDim / 2];
        for (int i = 0; i < f.length; i++) {
            float exponent = (float) (2 * i) / (float) headDim;
            f[i] = 1.0f / (float) Math.pow(theta, exponent);
        }
        return f;
    }

    /** A config without biases or scaling: {@code rope_theta} 10000, eps 1e-5 (for tests and benchmarks). */
    public static LlamaArch of(int vocab, int hidden, int ffn, int layers, int heads, int kvHeads, boolean tied) {
        int hs = hidden / heads;
        return new LlamaArch(vocab, hidden, ffn, layers, heads, kvHeads, hs, 1e-5f, defaultInvFreq(hs, 10000.0),
                tied, false);
    }

    public LlamaArch withAttentionBias(boolean bias) {
        return new LlamaArch(vocab, hidden, ffn, layers, heads, kvHeads, headDim, rmsNormEps, ropeInvFreq,
                tiedEmbeddings, bias);
    }

    /** QD = NH * HS. */
    public int qDim() { return heads * headDim; }

    /** KVD = NKV * HS. */
    public int kvDim() { return kvHeads * headDim; }

    @Override
    public double[] ropeInvFreq() { return ropeInvFreq.clone(); }

    /** Parameters of the base model (embedding, layers, norms, untied head). */
    public long parameterCount() {
        long perLayer = (long) hidden * qDim() * 2 + 2L * hidden * kvDim() + 3L * hidden * ffn + 2L * hidden
                + (attentionBias ? qDim() + 2L * kvDim() : 0);
        return (long) vocab * hidden * (tiedEmbeddings ? 1 : 2) + layers * perLayer + hidden;
    }
}
