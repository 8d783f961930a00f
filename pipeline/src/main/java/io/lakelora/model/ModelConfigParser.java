package io.lakelora.model;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.lakelora.error.BadInputException;

/** Reads a config.json tree into a {@link ModelConfig}; every error names the file, the key, and the fix. */
final class ModelConfigParser {
    private final ObjectNode root;
    private final String source;

    private ModelConfigParser(ObjectNode root, String source) {
        this.root = root;
        this.source = source;
    }

    static ModelConfig parse(ObjectNode root, String source) {
        return new ModelConfigParser(root, source).parse();
    }

    private ModelConfig parse() {
        Architecture arch = architecture();
        if (root.hasNonNull("quantization_config")) {
            throw new UnsupportedOperationException("model config " + source + " describes a pre-quantized checkpoint ("
                    + root.get("quantization_config").path("quant_method").asText("quantization_config")
                    + "). Fix: use the model's original 16/32-bit checkpoint; LakeLoRA quantizes to NF4 itself");
        }
        String act = root.path("hidden_act").asText("silu");
        if (!act.equals("silu")) {
            throw new UnsupportedOperationException("model config " + source + ": hidden_act '" + act + "' is not "
                    + "supported (only silu, as LLaMA/Mistral/Qwen2 use)");
        }
        if (root.hasNonNull("partial_rotary_factor")
                && root.get("partial_rotary_factor").asDouble() != 1.0) {
            throw new UnsupportedOperationException("model config " + source + ": partial_rotary_factor "
                    + root.get("partial_rotary_factor") + " is not supported (RoPE on the whole head only)");
        }
        ModelConfig.Builder b = ModelConfig.builder(arch);
        b.vocabSize(requiredInt("vocab_size"));
        int hidden = requiredInt("hidden_size");
        int heads = requiredInt("num_attention_heads");
        b.hiddenSize(hidden).numHeads(heads);
        b.intermediateSize(requiredInt("intermediate_size"));
        b.numLayers(requiredInt("num_hidden_layers"));
        Integer kv = optInt("num_key_value_heads");
        b.numKvHeads(kv == null ? heads : kv);
        Integer headDim = optInt("head_dim");
        if (headDim != null) {
            b.headDim(headDim);
        } else if (hidden % heads != 0) {
            throw bad(
                    "hidden_size " + hidden + " is not a multiple of num_attention_heads " + heads + " and no head_dim "
                            + "is given",
                    "add \"head_dim\"");
        }
        Double eps = optDouble("rms_norm_eps");
        if (eps != null) b.rmsNormEps(eps);
        Integer maxPos = optInt("max_position_embeddings");
        if (maxPos != null) b.maxPositionEmbeddings(maxPos);
        Boolean tie = optBool("tie_word_embeddings");
        if (tie != null) b.tieWordEmbeddings(tie);
        rope(b, maxPos);
        switch (arch) {
            case LLAMA -> {
                Boolean ab = optBool("attention_bias");
                if (ab != null) b.attentionBias(ab);
                Boolean mb = optBool("mlp_bias");
                if (mb != null) b.mlpBias(mb);
            }
            case MISTRAL ->
                b.slidingWindow(root.has("sliding_window") ? optInt("sliding_window") : Integer.valueOf(4096));
            case QWEN2 -> {
                Boolean use = optBool("use_sliding_window");
                if (use != null && use) {
                    throw new UnsupportedOperationException(
                            "model config " + source + ": Qwen2 use_sliding_window=true "
                                    + "(sliding attention above max_window_layers) is not supported. Fix: set it to false "
                                    + "(the released Qwen2/2.5 models do)");
                }
                b.slidingWindow(null);
            }
        }
        if (root.has("bos_token_id")) b.bosTokenId(optInt("bos_token_id"));
        if (root.has("eos_token_id")) b.eosTokenIds(eosIds());
        if (root.has("pad_token_id")) b.padTokenId(optInt("pad_token_id"));
        JsonNode dt = root.hasNonNull("torch_dtype") ? root.get("torch_dtype") : root.get("dtype");
        if (dt != null && !dt.isNull()) {
            if (!dt.isTextual())
                throw bad("torch_dtype is " + dt + ", expected a string like \"bfloat16\"", "correct it");
            b.torchDtype(dt.textValue());
        }
        try {
            return b.build();
        } catch (IllegalArgumentException e) {
            throw bad(e.getMessage(), "correct config.json (it must match the weights)");
        }
    }

    private Architecture architecture() {
        JsonNode a = root.get("architectures");
        String name = null;
        if (a != null && a.isArray() && a.size() > 0 && a.get(0).isTextual())
            name = a.get(0).textValue();
        if (name == null) {
            String mt = root.path("model_type").asText(null);
            for (Architecture x : Architecture.values()) if (x.modelType().equals(mt)) return x;
            throw bad(
                    "no \"architectures\" list and model_type " + (mt == null ? "missing" : "'" + mt + "'")
                            + "; supported: " + Architecture.supportedList(),
                    "use a config.json of a supported model");
        }
        Architecture arch = Architecture.ofHfClass(name);
        if (arch == null) {
            throw bad(
                    "architecture '" + name + "' is not supported; supported: " + Architecture.supportedList(),
                    "use a model of a supported architecture");
        }
        return arch;
    }

    /** rope_theta + rope_scaling (transformers 4.x) or rope_parameters (transformers 5). */
    private void rope(ModelConfig.Builder b, Integer maxPos) {
        JsonNode params = root.hasNonNull("rope_parameters") ? root.get("rope_parameters") : root.get("rope_scaling");
        String key = root.hasNonNull("rope_parameters") ? "rope_parameters" : "rope_scaling";
        Double theta = optDouble("rope_theta");
        if (params != null && !params.isNull() && !params.isObject())
            throw bad(key + " is " + params + ", expected an object", "correct it");
        if (params != null && params.hasNonNull("rope_theta"))
            theta = number(params.get("rope_theta"), key + ".rope_theta");
        if (theta != null) b.ropeTheta(theta);
        if (params == null || params.isNull()) return;
        String type = params.hasNonNull("rope_type")
                ? params.get("rope_type").asText()
                : params.path("type").asText("default");
        switch (type) {
            case "default" -> b.ropeScaling(RopeScaling.NONE);
            case "linear" -> b.ropeScaling(RopeScaling.linear(number(params.get("factor"), key + ".factor")));
            case "llama3" -> {
                JsonNode orig = params.get("original_max_position_embeddings");
                int o;
                if (orig != null && !orig.isNull()) {
                    o = (int) number(orig, key + ".original_max_position_embeddings");
                } else if (maxPos != null) {
                    o = maxPos;
                } else {
                    throw bad(key + " (llama3) has no original_max_position_embeddings", "add it (8192 for Llama 3.1)");
                }
                try {
                    b.ropeScaling(RopeScaling.llama3(
                            number(params.get("factor"), key + ".factor"),
                            number(params.get("low_freq_factor"), key + ".low_freq_factor"),
                            number(params.get("high_freq_factor"), key + ".high_freq_factor"),
                            o));
                } catch (IllegalArgumentException e) {
                    throw bad(key + ": " + e.getMessage(), "correct it");
                }
            }
            default ->
                throw new UnsupportedOperationException("model config " + source + ": " + key + " rope_type '" + type
                        + "' is not supported; supported: default, linear, llama3");
        }
    }

    private int[] eosIds() {
        JsonNode n = root.get("eos_token_id");
        if (n == null || n.isNull()) return new int[0];
        if (n.isInt()) return new int[] {n.intValue()};
        if (n.isArray()) {
            int[] r = new int[n.size()];
            for (int i = 0; i < r.length; i++) {
                if (!n.get(i).isInt()) throw bad("eos_token_id " + n + " has a non-integer entry", "use integers");
                r[i] = n.get(i).intValue();
            }
            return r;
        }
        throw bad("eos_token_id is " + n + ", expected an integer or a list of integers", "correct it");
    }

    private int requiredInt(String key) {
        Integer v = optInt(key);
        if (v == null)
            throw bad("required key \"" + key + "\" is missing", "restore the config.json saved with the model");
        return v;
    }

    private Integer optInt(String key) {
        JsonNode n = root.get(key);
        if (n == null || n.isNull()) return null;
        if (!n.isIntegralNumber() || !n.canConvertToInt()) {
            throw bad("\"" + key + "\" is " + n + ", expected an integer", "correct it");
        }
        return n.intValue();
    }

    private Double optDouble(String key) {
        JsonNode n = root.get(key);
        if (n == null || n.isNull()) return null;
        return number(n, key);
    }

    private double number(JsonNode n, String key) {
        if (n == null || !n.isNumber()) throw bad("\"" + key + "\" is " + n + ", expected a number", "correct it");
        return n.doubleValue();
    }

    private Boolean optBool(String key) {
        JsonNode n = root.get(key);
        if (n == null || n.isNull()) return null;
        if (!n.isBoolean()) throw bad("\"" + key + "\" is " + n + ", expected true or false", "correct it");
        return n.booleanValue();
    }

    private BadInputException bad(String what, String fix) {
        return new BadInputException("model config " + source + ": " + what + ". Fix: " + fix);
    }
}
