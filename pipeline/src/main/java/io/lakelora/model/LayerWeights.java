package io.lakelora.model;

import io.lakelora.lora.TargetModule;
import io.lakelora.model.nn.FrozenLinear;

/**
 * The frozen weights of one decoder layer (HF names: {@code input_layernorm}, {@code self_attn.{q,k,v,o}_proj},
 * {@code self_attn.{q,k}_norm}, {@code post_attention_layernorm}, {@code pre_feedforward_layernorm},
 * {@code post_feedforward_layernorm}, {@code mlp.{gate,up,down}_proj}). Norm weights are the multipliers the norm
 * applies: Gemma 3's stored {@code w} is held as {@code 1 + w} ({@link ModelConfig#normOffset()}).
 *
 * @param attnNorm     (C) input_layernorm.weight
 * @param mlpNorm      (C) the MLP's input norm: post_attention_layernorm.weight (Llama, Qwen), or Gemma 3's
 *     pre_feedforward_layernorm.weight
 * @param qNorm        (HS) self_attn.q_norm.weight (Qwen3, Gemma 3), or null
 * @param kNorm        (HS) self_attn.k_norm.weight (Qwen3, Gemma 3), or null
 * @param postAttnNorm (C) Gemma 3's post_attention_layernorm.weight (on the attention output), or null
 * @param postMlpNorm  (C) Gemma 3's post_feedforward_layernorm.weight (on the MLP output), or null
 */
public record LayerWeights(
        float[] attnNorm,
        FrozenLinear q,
        FrozenLinear k,
        FrozenLinear v,
        FrozenLinear o,
        float[] mlpNorm,
        FrozenLinear gate,
        FrozenLinear up,
        FrozenLinear down,
        float[] qNorm,
        float[] kNorm,
        float[] postAttnNorm,
        float[] postMlpNorm) {

    /** A Llama/Mistral/Qwen2 layer: no q/k norms, no sandwich norms. */
    public LayerWeights(
            float[] attnNorm,
            FrozenLinear q,
            FrozenLinear k,
            FrozenLinear v,
            FrozenLinear o,
            float[] mlpNorm,
            FrozenLinear gate,
            FrozenLinear up,
            FrozenLinear down) {
        this(attnNorm, q, k, v, o, mlpNorm, gate, up, down, null, null, null, null);
    }

    /** The same norms with other linear layers (indexed by {@link TargetModule#ordinal()}), e.g. quantized ones. */
    public LayerWeights withLinears(FrozenLinear[] lin) {
        return new LayerWeights(
                attnNorm,
                lin[0],
                lin[1],
                lin[2],
                lin[3],
                mlpNorm,
                lin[4],
                lin[5],
                lin[6],
                qNorm,
                kNorm,
                postAttnNorm,
                postMlpNorm);
    }

    /** The linear layer a LoRA target module adapts. */
    public FrozenLinear linear(TargetModule m) {
        return switch (m) {
            case Q -> q;
            case K -> k;
            case V -> v;
            case O -> o;
            case GATE -> gate;
            case UP -> up;
            case DOWN -> down;
        };
    }

    public long residentBytes() {
        long b = 4L
                * (attnNorm.length + mlpNorm.length + len(qNorm) + len(kNorm) + len(postAttnNorm) + len(postMlpNorm));
        for (TargetModule m : TargetModule.values()) b += linear(m).residentBytes();
        return b;
    }

    private static int len(float[] x) {
        return x == null ? 0 : x.length;
    }
}
