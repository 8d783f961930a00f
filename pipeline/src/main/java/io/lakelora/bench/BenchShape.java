package io.lakelora.bench;

import io.lakelora.model.Architecture;
import io.lakelora.model.ModelConfig;
import java.util.List;

/**
 * The named model shapes of {@code bench-train} (random weights), with how each is run: the child JVM's heap, whether
 * activations are recomputed in the backward, the default number of untimed warm-up steps, and whether the fp32
 * PyTorch peer can fit in memory.
 *
 * <ul>
 *   <li>{@code tiny}: a smoke-test shape for tests (hidden 64, 2 layers, 4 heads, 2 KV heads, ffn 128, vocab 256);</li>
 *   <li>{@code 100m}: hidden 768, 12 layers, 12 heads (no GQA), ffn 2048, vocab 32000, tied embeddings:
 *       110M parameters, 85M of them in the decoder linears;</li>
 *   <li>{@code tinyllama}: TinyLlama-1.1B (hidden 2048, 22 layers, 32 heads, 4 KV heads, ffn 5632, vocab 32000,
 *       untied lm_head);</li>
 *   <li>{@code qwen3-1.7b}: Qwen3-1.7B (hidden 2048, 28 layers, 16 heads, 8 KV heads, head_dim 128, q/k norms, ffn 6144,
 *       vocab 151936, tied embeddings, rope_theta 1e6): 1.72B parameters, 1.41B of them outside the embedding;</li>
 *   <li>{@code llama3-8b}: Llama-3-8B (hidden 4096, 32 layers, 32 heads, 8 KV heads, ffn 14336, vocab 128256, untied
 *       lm_head, rope_theta 500000), recomputation on, no torch peer (its fp32 base alone is 32 GB);</li>
 *   <li>{@code llama3-70b}: Llama-3-70B (hidden 8192, 80 layers, 64 heads, 8 KV heads, ffn 28672, vocab 128256,
 *       untied lm_head, rope_theta 500000): its 36 GB of NF4 weights are more than this machine's memory, so it is
 *       {@code streamed}: written once to a checkpoint on disk ({@link BenchCheckpoint}) and read layer by layer
 *       during the step ({@link io.lakelora.model.StreamedBase}); recomputation on, no torch peer.</li>
 * </ul>
 */
public record BenchShape(
        String name,
        String description,
        ModelConfig config,
        String heap,
        boolean recompute,
        int warmup,
        boolean torchPeer,
        boolean streamed) {

    public static final List<String> NAMES =
            List.of("tiny", "100m", "tinyllama", "qwen3-1.7b", "llama3-8b", "llama3-70b");

    public static BenchShape named(String name) {
        return switch (name) {
            case "tiny" ->
                new BenchShape(
                        name,
                        "tiny smoke-test shape",
                        llama(256, 64, 128, 2, 4, 2, 1e4, true).build(),
                        "512m",
                        false,
                        1,
                        true,
                        false);
            case "100m" ->
                new BenchShape(
                        name,
                        "~100M LLaMA (hidden 768, 12 layers, 12 heads, ffn 2048, vocab 32000," + " tied)",
                        llama(32000, 768, 2048, 12, 12, 12, 1e4, true).build(),
                        "3g",
                        false,
                        2,
                        true,
                        false);
            case "tinyllama" ->
                new BenchShape(
                        name,
                        "TinyLlama-1.1B shape (hidden 2048, 22 layers, 32 heads, 4 KV heads,"
                                + " ffn 5632, vocab 32000)",
                        llama(32000, 2048, 5632, 22, 32, 4, 1e4, false).build(),
                        "6g",
                        false,
                        2,
                        true,
                        false);
            case "qwen3-1.7b" ->
                new BenchShape(
                        name,
                        "Qwen3-1.7B shape (hidden 2048, 28 layers, 16 heads, 8 KV heads, head_dim 128, q/k norms,"
                                + " ffn 6144, vocab 151936, tied, rope_theta 1e6)",
                        ModelConfig.builder(Architecture.QWEN3)
                                .vocabSize(151936)
                                .hiddenSize(2048)
                                .intermediateSize(6144)
                                .numLayers(28)
                                .numHeads(16)
                                .numKvHeads(8)
                                .headDim(128)
                                .ropeTheta(1_000_000.0)
                                .rmsNormEps(1e-6)
                                .maxPositionEmbeddings(40960)
                                .tieWordEmbeddings(true)
                                .build(),
                        "8g", // 6g ran out: 28 layers of activations (2.5 GB at seq 512) + the 1.2 GB embedding
                        false,
                        2,
                        true,
                        false);
            case "llama3-8b" ->
                new BenchShape(
                        name,
                        "Llama-3-8B shape (hidden 4096, 32 layers, 32 heads, 8 KV heads,"
                                + " ffn 14336, vocab 128256, rope_theta 500000)",
                        llama(128256, 4096, 14336, 32, 32, 8, 500000.0, false)
                                .maxPositionEmbeddings(8192)
                                .build(),
                        "13g",
                        true,
                        0,
                        false,
                        false);
            case "llama3-70b" ->
                new BenchShape(
                        name,
                        "Llama-3-70B shape (hidden 8192, 80 layers, 64 heads, 8 KV heads,"
                                + " ffn 28672, vocab 128256, rope_theta 500000), streamed from disk",
                        llama(128256, 8192, 28672, 80, 64, 8, 500000.0, false)
                                .maxPositionEmbeddings(8192)
                                .build(),
                        "14g",
                        true,
                        0,
                        false,
                        true);
            default ->
                throw new IllegalArgumentException(
                        "--configs: unknown shape '" + name + "', expected any of " + String.join(", ", NAMES));
        };
    }

    /**
     * This shape with its first {@code layers} decoder layers only (e.g. a few layers of the 70B shape, to try the
     * streaming path quickly), named {@code <name>-<layers>l}.
     */
    public BenchShape withLayers(int layers) {
        if (layers < 1) throw new IllegalArgumentException("--layers must be >= 1, got " + layers);
        if (layers == config.numLayers()) return this;
        return new BenchShape(
                name + "-" + layers + "l",
                description + ", first " + layers + " layers",
                config.toBuilder().numLayers(layers).build(),
                heap,
                recompute,
                warmup,
                torchPeer,
                streamed);
    }

    /** This shape streamed from a checkpoint on disk even though it fits in memory (to test the streaming path). */
    public BenchShape streamedFromDisk() {
        if (streamed) return this;
        return new BenchShape(
                name, description + ", streamed from disk", config, heap, recompute, warmup, torchPeer, true);
    }

    private static ModelConfig.Builder llama(
            int vocab, int hidden, int ffn, int layers, int heads, int kvHeads, double ropeTheta, boolean tied) {
        return ModelConfig.builder(Architecture.LLAMA)
                .vocabSize(vocab)
                .hiddenSize(hidden)
                .intermediateSize(ffn)
                .numLayers(layers)
                .numHeads(heads)
                .numKvHeads(kvHeads)
                .ropeTheta(ropeTheta)
                .rmsNormEps(1e-5)
                .maxPositionEmbeddings(2048)
                .tieWordEmbeddings(tied);
    }
}
