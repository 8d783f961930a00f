package io.lakelora.model;

import java.util.Arrays;
import java.util.stream.Collectors;

/** The decoder architectures this project runs, by their Hugging Face class name and {@code model_type}. */
public enum Architecture {
    LLAMA("LlamaForCausalLM", "llama"),
    MISTRAL("MistralForCausalLM", "mistral"),
    QWEN2("Qwen2ForCausalLM", "qwen2");

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

    /** "LlamaForCausalLM, MistralForCausalLM, Qwen2ForCausalLM". */
    public static String supportedList() {
        return Arrays.stream(values()).map(Architecture::hfClass).collect(Collectors.joining(", "));
    }
}
