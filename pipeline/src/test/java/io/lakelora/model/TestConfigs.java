package io.lakelora.model;

/** Tiny model configurations for tests (eps 1e-5, rope_theta 10000). */
final class TestConfigs {
    private TestConfigs() {}

    /** LlamaForCausalLM without biases. */
    static ModelConfig llama(int V, int C, int F, int L, int NH, int NKV, boolean tied) {
        return of(Architecture.LLAMA, V, C, F, L, NH, NKV, tied);
    }

    /** Qwen2ForCausalLM: q/k/v biases. */
    static ModelConfig qwen2(int V, int C, int F, int L, int NH, int NKV, boolean tied) {
        return of(Architecture.QWEN2, V, C, F, L, NH, NKV, tied);
    }

    /** Qwen3ForCausalLM: q/k norms, an explicit head_dim (HS) that need not be C / NH. */
    static ModelConfig qwen3(int V, int C, int F, int L, int NH, int NKV, int HS, boolean tied) {
        return of(Architecture.QWEN3, V, C, F, L, NH, NKV, tied).toBuilder()
                .headDim(HS)
                .build();
    }

    /**
     * Gemma3ForCausalLM: head_dim HS, query_pre_attn_scalar qpas, a window of 3 tokens on every layer but each
     * {@code pattern}-th, local RoPE base 10000 and global 1e6 with linear scaling 2 (as the 4B+ models scale theirs).
     */
    static ModelConfig gemma3(int V, int C, int F, int L, int NH, int NKV, int HS, double qpas, int pattern) {
        return ModelConfig.builder(Architecture.GEMMA3)
                .vocabSize(V)
                .hiddenSize(C)
                .intermediateSize(F)
                .numLayers(L)
                .numHeads(NH)
                .numKvHeads(NKV)
                .headDim(HS)
                .rmsNormEps(1e-6)
                .ropeTheta(1_000_000.0)
                .ropeScaling(RopeScaling.linear(2.0))
                .ropeLocalTheta(10_000.0)
                .queryPreAttnScalar(qpas)
                .slidingWindow(3)
                .slidingWindowPattern(pattern)
                .maxPositionEmbeddings(256)
                .build();
    }

    static ModelConfig of(Architecture arch, int V, int C, int F, int L, int NH, int NKV, boolean tied) {
        return ModelConfig.builder(arch)
                .vocabSize(V)
                .hiddenSize(C)
                .intermediateSize(F)
                .numLayers(L)
                .numHeads(NH)
                .numKvHeads(NKV)
                .rmsNormEps(1e-5)
                .ropeTheta(10000.0)
                .tieWordEmbeddings(tied)
                .maxPositionEmbeddings(256)
                .build();
    }
}
