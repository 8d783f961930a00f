package io.lakelora.model;

import java.util.Arrays;
import java.util.stream.Collectors;

/** The decoder architectures this project runs, by their Hugging Face class name and {@code model_type}. */
public enum Architecture {
    LLAMA("LlamaForCausalLM", "llama"),
    MISTRAL("MistralForCausalLM", "mistral"),
    QWEN2("Qwen2ForCausalLM", "qwen2"),
    /** Qwen2's shape with per-head q/k RMSNorm, an explicit head_dim and no q/k/v bias. */
    QWEN3("Qwen3ForCausalLM", "qwen3"),
    /**
     * Gemma 3's text decoder: (1 + w) RMSNorms around attention and MLP, q/k norms, scaled embeddings, gelu-tanh MLP,
     * sliding-window and global layers with two RoPE bases. {@code Gemma3ForConditionalGeneration} configs are read
     * through their {@code text_config} (text only).
     */
    GEMMA3("Gemma3ForCausalLM", "gemma3_text");

    /** The multimodal Gemma 3 class whose {@code text_config} holds a {@link #GEMMA3} text model. */
    static final String GEMMA3_MULTIMODAL_CLASS = "Gemma3ForConditionalGeneration";

    /** The multimodal Gemma 3 {@code model_type}. */
    static final String GEMMA3_MULTIMODAL_TYPE = "gemma3";

    private final String hfClass;
    private final String modelType;

    Architecture(String hfClass, String modelType) {
        this.hfClass = hfClass;
        this.modelType = modelType;
    }

    /** The {@code architectures[0]} value in config.json, e.g. "LlamaForCausalLM". */
    public String hfClass() {
        return hfClass;
    }

    /** The {@code model_type} value in config.json, e.g. "llama". */
    public String modelType() {
        return modelType;
    }

    /** The architecture with this HF class name, or null. */
    static Architecture ofHfClass(String name) {
        for (Architecture a : values()) if (a.hfClass.equals(name)) return a;
        return null;
    }

    /** Whether each layer normalizes its queries and keys per head (q_norm, k_norm over head_dim) before RoPE. */
    public boolean qkNorm() {
        return this == QWEN3 || this == GEMMA3;
    }

    /**
     * "LlamaForCausalLM, MistralForCausalLM, Qwen2ForCausalLM, Qwen3ForCausalLM, Gemma3ForCausalLM,
     * Gemma3ForConditionalGeneration (text)".
     */
    public static String supportedList() {
        return Arrays.stream(values()).map(Architecture::hfClass).collect(Collectors.joining(", ")) + ", "
                + GEMMA3_MULTIMODAL_CLASS + " (text)";
    }
}
