package io.lakelora.model;

import io.lakelora.lora.AdapterLayout;
import io.lakelora.lora.LoraConfig;
import io.lakelora.lora.TargetModule;
import java.util.EnumSet;
import java.util.Set;

/**
 * The resolved LoRA numbers the model needs (the full training config, with init and schedule, lives elsewhere):
 * rank, the scaling applied to {@code B A x}, LoRA dropout probability and target modules.
 *
 * @param r       rank R, > 0
 * @param scaling {@code lora_alpha / r}, or {@code lora_alpha / sqrt(r)} with rsLoRA (see {@link #of})
 * @param dropout LoRA dropout probability in [0, 1)
 * @param targets adapted linear layers (non-empty)
 */
public record LoraSpec(int r, float scaling, float dropout, Set<TargetModule> targets) {

    public LoraSpec {
        if (r <= 0) throw new IllegalArgumentException("LoRA rank r must be > 0, got " + r);
        if (!(dropout >= 0f && dropout < 1f)) {
            throw new IllegalArgumentException("lora_dropout must be in [0, 1), got " + dropout);
        }
        if (!Float.isFinite(scaling)) throw new IllegalArgumentException("LoRA scaling must be finite, got " + scaling);
        if (targets.isEmpty()) throw new IllegalArgumentException("LoRA needs at least one target module");
        targets = Set.copyOf(EnumSet.copyOf(targets));
    }

    /** PEFT's scaling: {@code alpha / r}, or {@code alpha / sqrt(r)} when {@code useRslora}. */
    public static LoraSpec of(int r, double alpha, boolean useRslora, double dropout, Set<TargetModule> targets) {
        if (r <= 0) throw new IllegalArgumentException("LoRA rank r must be > 0, got " + r);
        if (!(alpha > 0)) throw new IllegalArgumentException("lora_alpha must be > 0, got " + alpha);
        double s = useRslora ? alpha / Math.sqrt(r) : alpha / r;
        return new LoraSpec(r, (float) s, (float) dropout, targets);
    }

    /** The numbers of a full LoRA config (r, lora_alpha with use_rslora, lora_dropout, target modules). */
    public static LoraSpec of(LoraConfig cfg) {
        return of(cfg.r(), cfg.loraAlpha(), cfg.useRslora(), cfg.loraDropout(), cfg.targets());
    }

    /** The same spec with dropout off (evaluation, gradient export). */
    public LoraSpec withoutDropout() {
        return new LoraSpec(r, scaling, 0f, targets);
    }

    /** The slab layout of this spec's adapter on a model of shape {@code a}. */
    public AdapterLayout layout(ModelConfig a) {
        return new AdapterLayout(a.numLayers(), a.hiddenSize(), a.qDim(), a.kvDim(), a.intermediateSize(), r, targets);
    }
}
