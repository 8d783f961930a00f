package io.lakelora.model;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.lakelora.error.BadInputException;

/**
 * Reads a config.json tree into a {@link ModelConfig}; every error names the file, the key, and the fix. A
 * {@code Gemma3ForConditionalGeneration} config is read through its {@code text_config} (the text decoder; keys it
 * lacks take Gemma3TextConfig's defaults, token ids and dtype may sit at the top level).
 */
final class ModelConfigParser {
    private final ObjectNode root;
    private final ObjectNode outer; // the multimodal config around a text_config, or root itself
    private final String source;

    private ModelConfigParser(ObjectNode root, ObjectNode outer, String source) {
        this.root = root;
        this.outer = outer;
        this.source = source;
    }

    static ModelConfig parse(ObjectNode root, String source) {
        if (isGemma3Multimodal(root)) {
            JsonNode text = root.get("text_config");
            if (text == null || text.isNull()) text = root.objectNode(); // transformers: all Gemma3TextConfig defaults
            if (!text.isObject()) {
                throw new BadInputException("model config " + source + ": text_config is " + text + ", expected an "
                        + "object. Fix: restore the config.json saved with the model");
            }
            return new ModelConfigParser((ObjectNode) text, root, source + " (text_config)").parse();
        }
        return new ModelConfigParser(root, root, source).parse();
    }

    private static boolean isGemma3Multimodal(ObjectNode root) {
        JsonNode a = root.get("architectures");
        if (a != null && a.isArray() && a.size() > 0 && a.get(0).isTextual())
            return a.get(0).textValue().equals(Architecture.GEMMA3_MULTIMODAL_CLASS);
        return Architecture.GEMMA3_MULTIMODAL_TYPE.equals(
                root.path("model_type").asText(null));
    }

    private ModelConfig parse() {
        Architecture arch = root == outer ? architecture() : Architecture.GEMMA3;
        if (outer.hasNonNull("quantization_config")) {
            throw new UnsupportedOperationException("model config " + source + " describes a pre-quantized checkpoint ("
                    + outer.get("quantization_config").path("quant_method").asText("quantization_config")
                    + "). Fix: use the model's original 16/32-bit checkpoint; LakeLoRA quantizes to NF4 itself");
        }
        if (arch == Architecture.GEMMA3) return gemma3();
        String act = root.path("hidden_act").asText("silu");
        if (!act.equals("silu")) {
            throw new UnsupportedOperationException("model config " + source + ": hidden_act '" + act + "' is not "
                    + "supported (only silu, as LLaMA/Mistral/Qwen2/Qwen3 use)");
        }
        if (root.hasNonNull("partial_rotary_factor")
                && root.get("partial_rotary_factor").asDouble() != 1.0) {
            throw new UnsupportedOperationException("model config " + source + ": partial_rotary_factor "
                    + root.get("partial_rotary_factor") + " is not supported (RoPE on the whole head only)");
        }
        ModelConfig.Builder b = ModelConfig.builder(arch);
        structure(b, arch);
        rope(
                b,
                optInt("max_position_embeddings"),
                root.hasNonNull("rope_parameters") ? "rope_parameters" : "rope_scaling");
        switch (arch) {
            case LLAMA -> {
                Boolean ab = optBool("attention_bias");
                if (ab != null) b.attentionBias(ab);
                Boolean mb = optBool("mlp_bias");
                if (mb != null) b.mlpBias(mb);
            }
            case MISTRAL ->
                b.slidingWindow(root.has("sliding_window") ? optInt("sliding_window") : Integer.valueOf(4096));
            case QWEN2, QWEN3 -> {
                Boolean use = optBool("use_sliding_window");
                if (use != null && use) {
                    throw new UnsupportedOperationException("model config " + source + ": " + arch.hfClass()
                            + " use_sliding_window=true (sliding attention above max_window_layers) is not supported. "
                            + "Fix: set it to false (the released Qwen2/2.5/3 models do)");
                }
                b.slidingWindow(null);
                if (arch == Architecture.QWEN3) {
                    Boolean ab = optBool("attention_bias");
                    if (ab != null) b.attentionBias(ab);
                }
            }
            case GEMMA3 -> throw new IllegalStateException("parsed by gemma3()");
        }
        return finish(b);
    }

    /**
     * Gemma 3's text config: gelu_pytorch_tanh, query_pre_attn_scalar, sliding_window with layer_types or
     * sliding_window_pattern, rope_theta + rope_scaling for the global layers and rope_local_base_freq for the sliding
     * ones (or transformers 5's per-layer-type rope_parameters); soft-capping and bidirectional attention are refused.
     */
    private ModelConfig gemma3() {
        String act = root.hasNonNull("hidden_activation")
                ? root.get("hidden_activation").asText()
                : root.path("hidden_act").asText("gelu_pytorch_tanh");
        if (!act.equals("gelu_pytorch_tanh")) {
            throw new UnsupportedOperationException("model config " + source + ": hidden_activation '" + act
                    + "' is not supported for Gemma 3 (only gelu_pytorch_tanh, as the released models use)");
        }
        for (String cap : new String[] {"final_logit_softcapping", "attn_logit_softcapping"}) {
            if (root.hasNonNull(cap)) {
                throw new UnsupportedOperationException("model config " + source + ": " + cap + " " + root.get(cap)
                        + " is not supported (Gemma 3 sets it to null; soft-capping is Gemma 2's). Fix: use a Gemma 3 "
                        + "config, or set it to null if the model was trained without it");
            }
        }
        Boolean bidi = optBool("use_bidirectional_attention");
        if (bidi != null && bidi) {
            throw new UnsupportedOperationException("model config " + source + ": use_bidirectional_attention=true "
                    + "(an encoder, e.g. EmbeddingGemma) is not supported: LakeLoRA trains causal decoders");
        }
        ModelConfig.Builder b = ModelConfig.builder(Architecture.GEMMA3);
        structure(b, Architecture.GEMMA3);
        Double qpas = optDouble("query_pre_attn_scalar");
        if (qpas != null) b.queryPreAttnScalar(qpas);
        if (root.has("sliding_window")) b.slidingWindow(optInt("sliding_window"));
        Integer layers = optInt("num_hidden_layers");
        int n = layers == null ? 26 : layers;
        JsonNode types = root.get("layer_types");
        if (types != null && !types.isNull()) {
            if (!types.isArray() || types.size() != n) {
                throw bad(
                        "layer_types is " + types + ", expected a list of " + n + " \"sliding_attention\" / "
                                + "\"full_attention\" entries (one per layer)",
                        "correct it");
            }
            boolean[] sliding = new boolean[n];
            for (int i = 0; i < n; i++) {
                String t = types.get(i).asText("");
                if (!t.equals("sliding_attention") && !t.equals("full_attention")) {
                    throw bad(
                            "layer_types[" + i + "] is " + types.get(i) + ", expected \"sliding_attention\" or "
                                    + "\"full_attention\"",
                            "correct it");
                }
                sliding[i] = t.equals("sliding_attention");
            }
            b.slidingLayers(sliding);
        } else {
            Integer pattern = optInt("sliding_window_pattern");
            if (pattern != null) {
                if (pattern <= 0) throw bad("sliding_window_pattern is " + pattern + ", expected > 0", "correct it");
                b.slidingWindowPattern(pattern);
            }
        }
        Double local = optDouble("rope_local_base_freq");
        if (local != null) b.ropeLocalTheta(local);
        JsonNode rp = root.get("rope_parameters");
        if (rp != null && rp.isObject() && (rp.has("full_attention") || rp.has("sliding_attention"))) {
            // transformers 5: one RoPE per layer type
            if (rp.hasNonNull("full_attention"))
                ropeFrom(
                        b,
                        optInt("max_position_embeddings"),
                        rp.get("full_attention"),
                        "rope_parameters.full_attention");
            JsonNode sl = rp.get("sliding_attention");
            if (sl != null && !sl.isNull()) {
                String type = sl.hasNonNull("rope_type") ? sl.get("rope_type").asText() : "default";
                if (!type.equals("default")) {
                    throw new UnsupportedOperationException("model config " + source + ": rope_parameters."
                            + "sliding_attention rope_type '" + type + "' is not supported (the sliding layers' "
                            + "RoPE is unscaled in Gemma 3)");
                }
                if (sl.hasNonNull("rope_theta"))
                    b.ropeLocalTheta(number(sl.get("rope_theta"), "rope_parameters.sliding_attention.rope_theta"));
            }
        } else {
            rope(
                    b,
                    optInt("max_position_embeddings"),
                    root.hasNonNull("rope_parameters") ? "rope_parameters" : "rope_scaling");
        }
        Boolean ab = optBool("attention_bias");
        if (ab != null) b.attentionBias(ab);
        return finish(b);
    }

    /** The sizes, norm epsilon, positions and tied embeddings (Gemma 3: every key optional, as in transformers). */
    private void structure(ModelConfig.Builder b, Architecture arch) {
        boolean defaults = arch == Architecture.GEMMA3;
        Integer v = defaults ? optInt("vocab_size") : Integer.valueOf(requiredInt("vocab_size"));
        if (v != null) b.vocabSize(v);
        Integer hid = defaults ? optInt("hidden_size") : Integer.valueOf(requiredInt("hidden_size"));
        if (hid != null) b.hiddenSize(hid);
        Integer nh = defaults ? optInt("num_attention_heads") : Integer.valueOf(requiredInt("num_attention_heads"));
        if (nh != null) b.numHeads(nh);
        Integer f = defaults ? optInt("intermediate_size") : Integer.valueOf(requiredInt("intermediate_size"));
        if (f != null) b.intermediateSize(f);
        Integer nl = defaults ? optInt("num_hidden_layers") : Integer.valueOf(requiredInt("num_hidden_layers"));
        if (nl != null) b.numLayers(nl);
        Integer kv = optInt("num_key_value_heads");
        if (kv != null) b.numKvHeads(kv);
        else if (!defaults && nh != null) b.numKvHeads(nh);
        Integer headDim = optInt("head_dim");
        if (headDim != null) {
            b.headDim(headDim);
        } else if (arch != Architecture.QWEN3 && arch != Architecture.GEMMA3 && hid % nh != 0) {
            throw bad(
                    "hidden_size " + hid + " is not a multiple of num_attention_heads " + nh + " and no head_dim "
                            + "is given",
                    "add \"head_dim\"");
        } else if (arch == Architecture.QWEN3 || arch == Architecture.GEMMA3) {
            // transformers' Qwen3Config / Gemma3TextConfig default head_dim (128 / 256) stays
        } else {
            b.headDim(hid / nh);
        }
        Double eps = optDouble("rms_norm_eps");
        if (eps != null) b.rmsNormEps(eps);
        Integer maxPos = optInt("max_position_embeddings");
        if (maxPos != null) b.maxPositionEmbeddings(maxPos);
        Boolean tie = optBool("tie_word_embeddings");
        if (tie == null && outer != root) tie = optBool(outer, "tie_word_embeddings");
        if (tie != null) b.tieWordEmbeddings(tie);
    }

    private ModelConfig finish(ModelConfig.Builder b) {
        ObjectNode ids = root.has("eos_token_id") || outer == root ? root : outer;
        if (ids.has("bos_token_id")) b.bosTokenId(optInt(ids, "bos_token_id"));
        else if (outer.has("bos_token_id")) b.bosTokenId(optInt(outer, "bos_token_id"));
        if (ids.has("eos_token_id")) b.eosTokenIds(eosIds(ids));
        if (ids.has("pad_token_id")) b.padTokenId(optInt(ids, "pad_token_id"));
        else if (outer.has("pad_token_id")) b.padTokenId(optInt(outer, "pad_token_id"));
        JsonNode dt = root.hasNonNull("torch_dtype") ? root.get("torch_dtype") : root.get("dtype");
        if ((dt == null || dt.isNull()) && outer != root)
            dt = outer.hasNonNull("torch_dtype") ? outer.get("torch_dtype") : outer.get("dtype");
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
    private void rope(ModelConfig.Builder b, Integer maxPos, String key) {
        Double theta = optDouble("rope_theta");
        if (theta != null) b.ropeTheta(theta);
        ropeFrom(b, maxPos, root.get(key), key);
    }

    /** rope_theta and the scaling of one rope_scaling / rope_parameters object ({@code key} names it in errors). */
    private void ropeFrom(ModelConfig.Builder b, Integer maxPos, JsonNode params, String key) {
        if (params != null && !params.isNull() && !params.isObject())
            throw bad(key + " is " + params + ", expected an object", "correct it");
        if (params != null && params.hasNonNull("rope_theta"))
            b.ropeTheta(number(params.get("rope_theta"), key + ".rope_theta"));
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

    private int[] eosIds(ObjectNode node) {
        JsonNode n = node.get("eos_token_id");
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
        return optInt(root, key);
    }

    private Integer optInt(ObjectNode node, String key) {
        JsonNode n = node.get(key);
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
        return optBool(root, key);
    }

    private Boolean optBool(ObjectNode node, String key) {
        JsonNode n = node.get(key);
        if (n == null || n.isNull()) return null;
        if (!n.isBoolean()) throw bad("\"" + key + "\" is " + n + ", expected true or false", "correct it");
        return n.booleanValue();
    }

    private BadInputException bad(String what, String fix) {
        return new BadInputException("model config " + source + ": " + what + ". Fix: " + fix);
    }
}
