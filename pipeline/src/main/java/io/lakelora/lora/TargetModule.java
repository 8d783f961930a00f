package io.lakelora.lora;

/**
 * The linear layers of a LLaMA-family decoder block that LoRA can target, named as Hugging Face and PEFT name them.
 * Declaration order is the canonical order of adapter tensors within a layer.
 */
public enum TargetModule {
    Q("q_proj", "self_attn"),
    K("k_proj", "self_attn"),
    V("v_proj", "self_attn"),
    O("o_proj", "self_attn"),
    GATE("gate_proj", "mlp"),
    UP("up_proj", "mlp"),
    DOWN("down_proj", "mlp");

    private final String peftName;
    private final String group;

    TargetModule(String peftName, String group) {
        this.peftName = peftName;
        this.group = group;
    }

    /** e.g. {@code q_proj}. */
    public String peftName() {
        return peftName;
    }

    /** {@code self_attn} or {@code mlp}. */
    public String group() {
        return group;
    }

    /** HF module path inside layer i, e.g. {@code model.layers.3.self_attn.q_proj}. */
    public String modulePath(int layer) {
        return "model.layers." + layer + "." + group + "." + peftName;
    }

    /** Accepts {@code q_proj} or {@code q}. */
    public static TargetModule parse(String name) {
        for (TargetModule m : values()) {
            if (m.peftName.equals(name) || m.name().equalsIgnoreCase(name)) return m;
        }
        throw new IllegalArgumentException("unknown LoRA target module '" + name + "': expected 'all-linear' or any of "
                + "q_proj, k_proj, v_proj, o_proj, gate_proj, up_proj, down_proj");
    }
}
