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
