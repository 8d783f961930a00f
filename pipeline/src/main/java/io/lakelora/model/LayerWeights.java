package io.lakelora.model;

import io.lakelora.lora.TargetModule;
import io.lakelora.model.nn.FrozenLinear;

/**
 * The frozen weights of one decoder layer (HF names: {@code input_layernorm}, {@code self_attn.{q,k,v,o}_proj},
 * {@code post_attention_layernorm}, {@code mlp.{gate,up,down}_proj}).
 *
 * @param attnNorm (C) input_layernorm.weight
 * @param mlpNorm  (C) post_attention_layernorm.weight
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
        FrozenLinear down) {

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
        long b = 4L * (attnNorm.length + mlpNorm.length);
        for (TargetModule m : TargetModule.values()) b += linear(m).residentBytes();
        return b;
    }
}
