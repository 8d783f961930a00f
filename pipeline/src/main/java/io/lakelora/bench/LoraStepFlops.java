package io.lakelora.bench;

import io.lakelora.lora.AdapterLayout;
import io.lakelora.lora.TargetModule;
import io.lakelora.model.ModelConfig;
import java.util.Set;

/**
 * Model FLOPs of one LoRA training step (forward + backward of a micro-batch, B sequences of T tokens, N = B*T), the
 * numerator of model FLOP utilisation (MFU). Matrix products only (norms, RoPE, softmax, SiLU and AdamW are not counted),
 * and no activation recomputation (that is hardware work, not model work):
 * <ul>
 *   <li>frozen base linears, P = their parameter count: forward {@code 2 P N}, input gradient {@code 2 P N}, no weight
 *       gradient: {@code 4 P N};</li>
 *   <li>LoRA on a targeted linear [out, in] with rank r: forward {@code u = x A^T} and {@code B u} ({@code 2 N r (in+out)}),
 *       backward {@code dB}, {@code du}, {@code dA}, {@code dx} ({@code 4 N r (in+out)}): {@code 6 N r (in+out)};</li>
 *   <li>attention per layer and sequence over the causal pairs {@code T(T+1)/2} with {@code QD = NH*HS}: forward
 *       {@code QK^T} and {@code PV} ({@code 4 QD pairs}), backward {@code dP}, {@code dV}, {@code dQ}, {@code dK}
 *       ({@code 8 QD pairs}): {@code 12 QD pairs};</li>
 *   <li>lm_head [V, C] on the rows that have a target: logits and input gradient, {@code 4 V C targets}.</li>
 * </ul>
 *
 * @param baseLinear FLOPs of the frozen decoder linears
 * @param lora       FLOPs of the adapters
 * @param attention  FLOPs of the attention products
 * @param head       FLOPs of the output head
 */
public record LoraStepFlops(long baseLinear, long lora, long attention, long head) {

    public long total() {
        return baseLinear + lora + attention + head;
    }

    /**
     * @param targetTokens rows with a label (B*(T-1) when no label is ignored: the last position predicts nothing)
     */
    public static LoraStepFlops of(ModelConfig a, int r, Set<TargetModule> targets, int B, int T, long targetTokens) {
        if (B <= 0 || T <= 0 || r <= 0) {
            throw new IllegalArgumentException("B, T and r must be > 0, got " + B + ", " + T + ", " + r);
        }
        long N = (long) B * T;
        long base = Math.multiplyExact(4L * linearParams(a), N);
        long lora = Math.multiplyExact(6L * r * loraInPlusOut(a, targets), N);
        long pairs = (long) T * (T + 1) / 2;
        long attention = 12L * a.qDim() * pairs * B * a.numLayers();
        long head = 4L * a.vocabSize() * a.hiddenSize() * targetTokens;
        return new LoraStepFlops(base, lora, attention, head);
    }

    /** Weights of the decoder's linear layers (all layers, all seven projections; biases excluded). */
    public static long linearParams(ModelConfig a) {
        long p = 0;
        for (TargetModule m : TargetModule.values()) p += (long) in(a, m) * out(a, m);
        return p * a.numLayers();
    }

    /** Sum over layers and targeted linears of {@code in + out}: LoRA parameters = r times this. */
    public static long loraInPlusOut(ModelConfig a, Set<TargetModule> targets) {
        long s = 0;
        for (TargetModule m : targets) s += in(a, m) + out(a, m);
        return s * a.numLayers();
    }

    /** All weights: embeddings, the lm_head when untied, decoder linears and norms (q/k and sandwich norms too). */
    public static long totalParams(ModelConfig a) {
        long emb = (long) a.vocabSize() * a.hiddenSize();
        long perLayer = 2L * a.hiddenSize()
                + (a.architecture().qkNorm() ? 2L * a.headDim() : 0)
                + (a.sandwichNorms() ? 2L * a.hiddenSize() : 0);
        long norms = perLayer * a.numLayers() + a.hiddenSize();
        return emb * (a.tieWordEmbeddings() ? 1 : 2) + linearParams(a) + norms;
    }

    private static int in(ModelConfig a, TargetModule m) {
        return AdapterLayout.inFeatures(m, a.hiddenSize(), a.qDim(), a.intermediateSize());
    }

    private static int out(ModelConfig a, TargetModule m) {
        return AdapterLayout.outFeatures(m, a.hiddenSize(), a.qDim(), a.kvDim(), a.intermediateSize());
    }
}
