package io.lakelora.model;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.lakelora.error.BadInputException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Objects;

/**
 * The shape and hyper-parameters of a LLaMA-family decoder, read from a Hugging Face {@code config.json}
 * ({@link #load}) or built for tests ({@link #builder}); {@link #toJson()} writes a config.json that transformers
 * loads back. Missing optional keys take transformers' defaults for the architecture; the structural keys
 * (vocab_size, hidden_size, intermediate_size, num_hidden_layers, num_attention_heads) are required. Keys that would
 * change the math in a way not implemented here (another {@code hidden_act}, {@code partial_rotary_factor},
 * unsupported {@code rope_type}, a pre-quantized checkpoint) are rejected rather than ignored.
 *
 * <p>Biases: {@code attentionBias} means q/k/v projections have biases (Qwen2 always; Llama and Qwen3 when
 * {@code attention_bias} is true, where o_proj has one too — see {@link #oProjBias()}).
 *
 * <p>Family pieces follow from the architecture ({@link Architecture#qkNorm()}, {@link #embedScale()},
 * {@link #normOffset()}, {@link #sandwichNorms()}, {@link #geluTanh()}); Gemma 3's numbers are components.
 *
 * @param slidingWindow attention window (Mistral; Qwen2 only with use_sliding_window; Gemma 3's sliding layers) or
 *     null for full attention
 * @param bosTokenId may be null; @param padTokenId may be null; @param torchDtype e.g. "bfloat16", may be null
 * @param queryPreAttnScalar attention scores are scaled by {@code queryPreAttnScalar^-0.5} (Gemma 3's
 *     {@code query_pre_attn_scalar}; head_dim for the other families)
 * @param ropeLocalTheta RoPE base of the sliding-window layers (Gemma 3's {@code rope_local_base_freq}, never
 *     scaled); equal to ropeTheta for the other families
 * @param slidingLayers which layers use the sliding window (Gemma 3's {@code layer_types}), or null: every layer
 *     does when {@code slidingWindow} is set (Mistral)
 */
public record ModelConfig(
        Architecture architecture,
        int vocabSize,
        int hiddenSize,
        int intermediateSize,
        int numLayers,
        int numHeads,
        int numKvHeads,
        int headDim,
        double rmsNormEps,
        double ropeTheta,
        RopeScaling ropeScaling,
        int maxPositionEmbeddings,
        boolean tieWordEmbeddings,
        boolean attentionBias,
        boolean mlpBias,
        Integer slidingWindow,
        Integer bosTokenId,
        int[] eosTokenIds,
        Integer padTokenId,
        String torchDtype,
        double queryPreAttnScalar,
        double ropeLocalTheta,
        boolean[] slidingLayers) {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final ObjectMapper PRETTY = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    public ModelConfig {
        Objects.requireNonNull(architecture, "architecture");
        Objects.requireNonNull(ropeScaling, "ropeScaling");
        eosTokenIds = eosTokenIds == null ? new int[0] : eosTokenIds.clone();
        positive("vocab_size", vocabSize);
        positive("hidden_size", hiddenSize);
        positive("intermediate_size", intermediateSize);
        positive("num_hidden_layers", numLayers);
        positive("num_attention_heads", numHeads);
        positive("num_key_value_heads", numKvHeads);
        positive("head_dim", headDim);
        positive("max_position_embeddings", maxPositionEmbeddings);
        if (numHeads % numKvHeads != 0) {
            throw new IllegalArgumentException(
                    "num_attention_heads " + numHeads + " is not a multiple of " + "num_key_value_heads " + numKvHeads);
        }
        if (headDim % 2 != 0) throw new IllegalArgumentException("head_dim " + headDim + " must be even for RoPE");
        if (!(rmsNormEps > 0)) throw new IllegalArgumentException("rms_norm_eps must be > 0: " + rmsNormEps);
        if (!(ropeTheta > 0)) throw new IllegalArgumentException("rope_theta must be > 0: " + ropeTheta);
        if (slidingWindow != null && slidingWindow <= 0)
            throw new IllegalArgumentException("sliding_window must be > 0");
        if (!(queryPreAttnScalar > 0))
            throw new IllegalArgumentException("query_pre_attn_scalar must be > 0: " + queryPreAttnScalar);
        if (!(ropeLocalTheta > 0))
            throw new IllegalArgumentException("rope_local_base_freq must be > 0: " + ropeLocalTheta);
        if (slidingLayers != null) {
            if (slidingLayers.length != numLayers) {
                throw new IllegalArgumentException(
                        "layer_types has " + slidingLayers.length + " entries for " + numLayers + " layers");
            }
            slidingLayers = slidingLayers.clone();
        }
    }

    /** Which layers slide (a copy), or null (see the record's docs). */
    @Override
    public boolean[] slidingLayers() {
        return slidingLayers == null ? null : slidingLayers.clone();
    }

    /** Whether layer {@code l} is a sliding-window layer (Gemma 3's "sliding_attention"; every layer of Mistral). */
    public boolean slidingLayer(int l) {
        return slidingLayers == null ? slidingWindow != null : slidingLayers[l];
    }

    /** The attention window of layer {@code l} in tokens (the query's own included), or Integer.MAX_VALUE. */
    public int window(int l) {
        return slidingWindow != null && slidingLayer(l) ? slidingWindow : Integer.MAX_VALUE;
    }

    /** Attention score scale {@code query_pre_attn_scalar^-0.5} (1/sqrt(head_dim) except Gemma 3's own value). */
    public double attentionScale() {
        return 1.0 / Math.sqrt(queryPreAttnScalar);
    }

    /** Embedding multiplier: Gemma 3's sqrt(hidden_size) as a float32 (its embedding dtype here), else 1. */
    public float embedScale() {
        return architecture == Architecture.GEMMA3 ? (float) Math.sqrt(hiddenSize) : 1f;
    }

    /**
     * Added to every stored RMSNorm weight to give the multiplier: Gemma 3's norms compute {@code x r (1 + w)} (1), the
     * others {@code x r w} (0). {@link LlamaWeights} hold the multipliers.
     */
    public float normOffset() {
        return architecture == Architecture.GEMMA3 ? 1f : 0f;
    }

    /**
     * Gemma 3's sandwich norms: the attention and MLP outputs are normalized (post_attention_layernorm,
     * post_feedforward_layernorm) before their residual adds, and the MLP input by pre_feedforward_layernorm.
     */
    public boolean sandwichNorms() {
        return architecture == Architecture.GEMMA3;
    }

    /** The MLP gate is gelu-tanh (Gemma 3's {@code gelu_pytorch_tanh}); else SiLU. */
    public boolean geluTanh() {
        return architecture == Architecture.GEMMA3;
    }

    private static void positive(String key, int v) {
        if (v <= 0) throw new IllegalArgumentException(key + " must be > 0, found " + v);
    }

    /** EOS ids (a copy; config.json's eos_token_id may be an int or a list). */
    @Override
    public int[] eosTokenIds() {
        return eosTokenIds.clone();
    }

    /** num_attention_heads x head_dim: rows of q_proj (and columns of o_proj). */
    public int qDim() {
        return numHeads * headDim;
    }

    /** num_key_value_heads x head_dim: rows of k_proj and v_proj. */
    public int kvDim() {
        return numKvHeads * headDim;
    }

    /** Query heads per KV head (GQA group size). */
    public int kvGroups() {
        return numHeads / numKvHeads;
    }

    /**
     * True when o_proj has a bias (Llama, Qwen3 and Gemma 3 with attention_bias; never Qwen2, whose bias is on q/k/v
     * only).
     */
    public boolean oProjBias() {
        return attentionBias && architecture != Architecture.QWEN2 && architecture != Architecture.MISTRAL;
    }

    // ------------------------------------------------------------------------------------------------ RoPE

    /**
     * RoPE inverse frequencies, {@code head_dim / 2} of them, as transformers computes {@code inv_freq}: in float32,
     * {@code 1 / theta^(arange(0, d, 2) / d)}, then divided by the factor ("linear") or blended as
     * {@code _compute_llama3_parameters} does ("llama3"). Each step is rounded to float32 like torch's float32
     * tensors; the values are returned widened to double. {@code pow} is correctly rounded here, torch's may differ
     * by 1 ulp.
     */
    public double[] ropeInvFreq() {
        return invFreq(ropeTheta, ropeScaling);
    }

    /**
     * The RoPE inverse frequencies of layer {@code l}: Gemma 3's sliding layers use {@code rope_local_base_freq}
     * without scaling, every other layer {@link #ropeInvFreq()}.
     */
    public double[] ropeInvFreq(int l) {
        return localRope(l) ? invFreq(ropeLocalTheta, RopeScaling.NONE) : ropeInvFreq();
    }

    /** Whether layer {@code l} uses the local RoPE base (Gemma 3's sliding layers). */
    public boolean localRope(int l) {
        return architecture == Architecture.GEMMA3 && slidingLayer(l);
    }

    private double[] invFreq(double theta, RopeScaling scaling) {
        int dim = headDim;
        float base = (float) theta;
        double[] out = new double[dim / 2];
        for (int i = 0; i < out.length; i++) {
            float expo = (float) (2 * i) / (float) dim;
            float inv = 1.0f / (float) Math.pow(base, expo);
            switch (scaling.type()) {
                case NONE -> {}
                case LINEAR -> inv = inv / (float) scaling.factor();
                case LLAMA3 -> inv = llama3(inv);
            }
            out[i] = inv;
        }
        return out;
    }

    private float llama3(float inv) {
        RopeScaling s = ropeScaling;
        float factor = (float) s.factor();
        double old = s.originalMaxPositionEmbeddings();
        double lowWavelen = old / s.lowFreqFactor(); // python floats (double)
        double highWavelen = old / s.highFreqFactor();
        float wavelen = (float) (2 * Math.PI) / inv;
        float invLlama = wavelen > lowWavelen ? inv / factor : inv;
        float smooth =
                ((float) old / wavelen - (float) s.lowFreqFactor()) / (float) (s.highFreqFactor() - s.lowFreqFactor());
        float smoothed = (1 - smooth) * invLlama / factor + smooth * invLlama;
        boolean medium = !(wavelen < highWavelen) && !(wavelen > lowWavelen);
        return medium ? smoothed : invLlama;
    }

    // ------------------------------------------------------------------------------------------------ JSON

    /** Parses a config.json file; errors name the file and the key. */
    public static ModelConfig load(Path configJson) {
        String text;
        try {
            if (!Files.exists(configJson)) throw new java.nio.file.NoSuchFileException(configJson.toString());
            text = io.lakelora.error.BoundedReads.readJsonText(configJson);
        } catch (java.nio.file.NoSuchFileException e) {
            throw new BadInputException(
                    "model config " + configJson + " does not exist. Fix: put the model's "
                            + "config.json (from its Hugging Face repository) there",
                    e);
        } catch (IOException e) {
            throw new UncheckedIOException("reading " + configJson, e);
        }
        return fromJson(text, configJson.toString());
    }

    /** Parses config.json text; {@code source} names it in errors. */
    public static ModelConfig fromJson(String json, String source) {
        JsonNode root;
        try {
            root = JSON.readTree(json);
        } catch (JsonProcessingException e) {
            throw new BadInputException(
                    "model config " + source + ": not valid JSON (" + e.getOriginalMessage()
                            + "). Fix: restore the config.json saved with the model",
                    e);
        }
        if (root == null || !root.isObject()) {
            throw new BadInputException(
                    "model config " + source + ": expected a JSON object. Fix: restore config.json");
        }
        return ModelConfigParser.parse((ObjectNode) root, source);
    }

    /**
     * A Hugging Face config.json for this configuration (architectures, model_type, sizes, rope_theta + rope_scaling,
     * token ids, torch_dtype), which {@link #fromJson} and transformers read back to the same model.
     */
    public String toJson() {
        ObjectNode o = JSON.createObjectNode();
        o.putArray("architectures").add(architecture.hfClass());
        o.put("model_type", architecture.modelType());
        if (architecture == Architecture.LLAMA) {
            o.put("attention_bias", attentionBias);
            o.put("mlp_bias", mlpBias);
        } else if (architecture == Architecture.QWEN3 || architecture == Architecture.GEMMA3) {
            o.put("attention_bias", attentionBias);
        }
        if (bosTokenId != null) o.put("bos_token_id", bosTokenId);
        else o.putNull("bos_token_id");
        if (eosTokenIds.length == 1) {
            o.put("eos_token_id", eosTokenIds[0]);
        } else if (eosTokenIds.length == 0) {
            o.putNull("eos_token_id");
        } else {
            ArrayNode a = o.putArray("eos_token_id");
            for (int e : eosTokenIds) a.add(e);
        }
        o.put("head_dim", headDim);
        if (architecture == Architecture.GEMMA3) {
            o.put("hidden_activation", "gelu_pytorch_tanh");
            o.put("query_pre_attn_scalar", queryPreAttnScalar);
            o.put("rope_local_base_freq", ropeLocalTheta);
            o.putNull("final_logit_softcapping");
            o.putNull("attn_logit_softcapping");
            ArrayNode types = o.putArray("layer_types");
            for (int l = 0; l < numLayers; l++) types.add(slidingLayer(l) ? "sliding_attention" : "full_attention");
        } else {
            o.put("hidden_act", "silu");
        }
        o.put("hidden_size", hiddenSize);
        o.put("intermediate_size", intermediateSize);
        o.put("max_position_embeddings", maxPositionEmbeddings);
        o.put("num_attention_heads", numHeads);
        o.put("num_hidden_layers", numLayers);
        o.put("num_key_value_heads", numKvHeads);
        if (padTokenId != null) o.put("pad_token_id", padTokenId);
        o.put("rms_norm_eps", rmsNormEps);
        if (ropeScaling.type() == RopeScaling.Type.NONE) {
            o.putNull("rope_scaling");
        } else {
            ObjectNode r = o.putObject("rope_scaling");
            r.put("rope_type", ropeScaling.type().hfName());
            r.put("factor", ropeScaling.factor());
            if (ropeScaling.type() == RopeScaling.Type.LLAMA3) {
                r.put("low_freq_factor", ropeScaling.lowFreqFactor());
                r.put("high_freq_factor", ropeScaling.highFreqFactor());
                r.put("original_max_position_embeddings", ropeScaling.originalMaxPositionEmbeddings());
            }
        }
        o.put("rope_theta", ropeTheta);
        if (architecture == Architecture.MISTRAL || architecture == Architecture.GEMMA3) {
            if (slidingWindow != null) o.put("sliding_window", slidingWindow);
            else o.putNull("sliding_window");
        } else if (architecture == Architecture.QWEN2 || architecture == Architecture.QWEN3) {
            o.put("use_sliding_window", slidingWindow != null);
            if (slidingWindow != null) o.put("sliding_window", slidingWindow);
            else o.putNull("sliding_window");
        }
        o.put("tie_word_embeddings", tieWordEmbeddings);
        if (torchDtype != null) o.put("torch_dtype", torchDtype);
        o.put("use_cache", true);
        o.put("vocab_size", vocabSize);
        try {
            return PRETTY.writeValueAsString(o) + "\n";
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    // ------------------------------------------------------------------------------------------------ builder

    /** A builder starting from transformers' defaults for {@code architecture}. */
    public static Builder builder(Architecture architecture) {
        return new Builder(architecture);
    }

    /** A builder starting from this configuration. */
    public Builder toBuilder() {
        Builder b = new Builder(architecture);
        b.vocabSize = vocabSize;
        b.hiddenSize = hiddenSize;
        b.intermediateSize = intermediateSize;
        b.numLayers = numLayers;
        b.numHeads = numHeads;
        b.numKvHeads = numKvHeads;
        b.headDim = headDim;
        b.rmsNormEps = rmsNormEps;
        b.ropeTheta = ropeTheta;
        b.ropeScaling = ropeScaling;
        b.maxPositionEmbeddings = maxPositionEmbeddings;
        b.tieWordEmbeddings = tieWordEmbeddings;
        b.attentionBias = attentionBias;
        b.mlpBias = mlpBias;
        b.slidingWindow = slidingWindow;
        b.bosTokenId = bosTokenId;
        b.eosTokenIds = eosTokenIds.clone();
        b.padTokenId = padTokenId;
        b.torchDtype = torchDtype;
        if (architecture == Architecture.GEMMA3) { // its own keys; the other families derive them (head_dim, theta)
            b.queryPreAttnScalar = queryPreAttnScalar;
            b.ropeLocalTheta = ropeLocalTheta;
        }
        b.slidingLayers = slidingLayers == null ? null : slidingLayers.clone();
        return b;
    }

    /**
     * Builds configurations (tests make tiny ones: {@code builder(LLAMA).vocabSize(64).hiddenSize(16)...build()}).
     * {@code numKvHeads} defaults to {@code numHeads} and {@code headDim} to {@code hiddenSize / numHeads} when not set.
     */
    public static final class Builder {
        private final Architecture architecture;
        private int vocabSize;
        private int hiddenSize = 4096;
        private int intermediateSize;
        private int numLayers = 32;
        private int numHeads = 32;
        private Integer numKvHeads;
        private Integer headDim;
        private double rmsNormEps = 1e-6;
        private double ropeTheta = 10000.0;
        private RopeScaling ropeScaling = RopeScaling.NONE;
        private int maxPositionEmbeddings;
        private boolean tieWordEmbeddings;
        private boolean attentionBias;
        private boolean mlpBias;
        private Integer slidingWindow;
        private Integer bosTokenId;
        private int[] eosTokenIds;
        private Integer padTokenId;
        private String torchDtype;
        private Double queryPreAttnScalar;
        private Double ropeLocalTheta;
        private boolean[] slidingLayers;
        private int slidingPattern = 6;

        private Builder(Architecture a) {
            this.architecture = Objects.requireNonNull(a, "architecture");
            switch (a) { // transformers' LlamaConfig / MistralConfig / Qwen2Config / Qwen3Config / Gemma3TextConfig
                // defaults
                case LLAMA -> {
                    vocabSize = 32000;
                    intermediateSize = 11008;
                    maxPositionEmbeddings = 2048;
                    bosTokenId = 1;
                    eosTokenIds = new int[] {2};
                }
                case MISTRAL -> {
                    vocabSize = 32000;
                    intermediateSize = 14336;
                    numKvHeads = 8;
                    maxPositionEmbeddings = 4096 * 32;
                    slidingWindow = 4096;
                    bosTokenId = 1;
                    eosTokenIds = new int[] {2};
                }
                case QWEN2 -> {
                    vocabSize = 151936;
                    intermediateSize = 22016;
                    numKvHeads = 32;
                    maxPositionEmbeddings = 32768;
                    attentionBias = true;
                    eosTokenIds = new int[0];
                }
                case QWEN3 -> {
                    vocabSize = 151936;
                    intermediateSize = 22016;
                    numKvHeads = 32;
                    headDim = 128;
                    maxPositionEmbeddings = 32768;
                    eosTokenIds = new int[0];
                }
                case GEMMA3 -> {
                    vocabSize = 262208;
                    hiddenSize = 2304;
                    intermediateSize = 9216;
                    numLayers = 26;
                    numHeads = 8;
                    numKvHeads = 4;
                    headDim = 256;
                    maxPositionEmbeddings = 131072;
                    tieWordEmbeddings = true;
                    ropeTheta = 1_000_000.0;
                    queryPreAttnScalar = 256.0;
                    ropeLocalTheta = 10_000.0;
                    slidingWindow = 4096;
                    padTokenId = 0;
                    bosTokenId = 2;
                    eosTokenIds = new int[] {1};
                }
            }
        }

        public Builder vocabSize(int v) {
            vocabSize = v;
            return this;
        }

        public Builder hiddenSize(int v) {
            hiddenSize = v;
            return this;
        }

        public Builder intermediateSize(int v) {
            intermediateSize = v;
            return this;
        }

        public Builder numLayers(int v) {
            numLayers = v;
            return this;
        }

        public Builder numHeads(int v) {
            numHeads = v;
            return this;
        }

        public Builder numKvHeads(int v) {
            numKvHeads = v;
            return this;
        }

        public Builder headDim(int v) {
            headDim = v;
            return this;
        }

        public Builder rmsNormEps(double v) {
            rmsNormEps = v;
            return this;
        }

        public Builder ropeTheta(double v) {
            ropeTheta = v;
            return this;
        }

        public Builder ropeScaling(RopeScaling v) {
            ropeScaling = v;
            return this;
        }

        public Builder maxPositionEmbeddings(int v) {
            maxPositionEmbeddings = v;
            return this;
        }

        public Builder tieWordEmbeddings(boolean v) {
            tieWordEmbeddings = v;
            return this;
        }

        public Builder attentionBias(boolean v) {
            attentionBias = v;
            return this;
        }

        public Builder mlpBias(boolean v) {
            mlpBias = v;
            return this;
        }

        public Builder slidingWindow(Integer v) {
            slidingWindow = v;
            return this;
        }

        public Builder bosTokenId(Integer v) {
            bosTokenId = v;
            return this;
        }

        public Builder eosTokenIds(int... v) {
            eosTokenIds = v.clone();
            return this;
        }

        public Builder padTokenId(Integer v) {
            padTokenId = v;
            return this;
        }

        public Builder torchDtype(String v) {
            torchDtype = v;
            return this;
        }

        /** Gemma 3's query_pre_attn_scalar (the attention scale is its inverse square root). */
        public Builder queryPreAttnScalar(double v) {
            queryPreAttnScalar = v;
            return this;
        }

        /** Gemma 3's rope_local_base_freq (the sliding layers' RoPE base). */
        public Builder ropeLocalTheta(double v) {
            ropeLocalTheta = v;
            return this;
        }

        /** Which layers slide (Gemma 3's layer_types), or null for the architecture's rule. */
        public Builder slidingLayers(boolean[] v) {
            slidingLayers = v == null ? null : v.clone();
            return this;
        }

        /**
         * Gemma 3's sliding_window_pattern: without explicit {@link #slidingLayers}, layer i slides unless
         * {@code (i + 1) % pattern == 0} (default 6: five sliding layers, then a global one).
         */
        public Builder slidingWindowPattern(int v) {
            if (v <= 0) throw new IllegalArgumentException("sliding_window_pattern must be > 0, got " + v);
            slidingPattern = v;
            return this;
        }

        public ModelConfig build() {
            int kv = numKvHeads == null ? numHeads : numKvHeads;
            if (headDim == null && hiddenSize % numHeads != 0) {
                throw new IllegalArgumentException("hidden_size " + hiddenSize + " is not a multiple of "
                        + "num_attention_heads " + numHeads + "; set head_dim explicitly");
            }
            int hd = headDim == null ? hiddenSize / numHeads : headDim;
            boolean[] sliding = slidingLayers;
            if (sliding == null && architecture == Architecture.GEMMA3) {
                sliding = new boolean[numLayers];
                for (int i = 0; i < numLayers; i++) sliding[i] = (i + 1) % slidingPattern != 0;
            }
            if (sliding != null && architecture != Architecture.GEMMA3) {
                throw new IllegalArgumentException("per-layer sliding windows (layer_types) are Gemma 3's; "
                        + architecture.hfClass() + " slides every layer or none");
            }
            return new ModelConfig(
                    architecture,
                    vocabSize,
                    hiddenSize,
                    intermediateSize,
                    numLayers,
                    numHeads,
                    kv,
                    hd,
                    rmsNormEps,
                    ropeTheta,
                    ropeScaling,
                    maxPositionEmbeddings,
                    tieWordEmbeddings,
                    attentionBias,
                    mlpBias,
                    slidingWindow,
                    bosTokenId,
                    eosTokenIds,
                    padTokenId,
                    torchDtype,
                    queryPreAttnScalar == null ? hd : queryPreAttnScalar,
                    ropeLocalTheta == null ? ropeTheta : ropeLocalTheta,
                    sliding);
        }
    }

    // ------------------------------------------------------------------------------------------------ Object

    @Override
    public boolean equals(Object o) {
        return o instanceof ModelConfig c
                && architecture == c.architecture
                && vocabSize == c.vocabSize
                && hiddenSize == c.hiddenSize
                && intermediateSize == c.intermediateSize
                && numLayers == c.numLayers
                && numHeads == c.numHeads
                && numKvHeads == c.numKvHeads
                && headDim == c.headDim
                && Double.compare(rmsNormEps, c.rmsNormEps) == 0
                && Double.compare(ropeTheta, c.ropeTheta) == 0
                && ropeScaling.equals(c.ropeScaling)
                && maxPositionEmbeddings == c.maxPositionEmbeddings
                && tieWordEmbeddings == c.tieWordEmbeddings
                && attentionBias == c.attentionBias
                && mlpBias == c.mlpBias
                && Objects.equals(slidingWindow, c.slidingWindow)
                && Objects.equals(bosTokenId, c.bosTokenId)
                && Arrays.equals(eosTokenIds, c.eosTokenIds)
                && Objects.equals(padTokenId, c.padTokenId)
                && Objects.equals(torchDtype, c.torchDtype)
                && Double.compare(queryPreAttnScalar, c.queryPreAttnScalar) == 0
                && Double.compare(ropeLocalTheta, c.ropeLocalTheta) == 0
                && Arrays.equals(slidingLayers, c.slidingLayers);
    }

    @Override
    public int hashCode() {
        return Objects.hash(
                architecture,
                vocabSize,
                hiddenSize,
                intermediateSize,
                numLayers,
                numHeads,
                numKvHeads,
                headDim,
                rmsNormEps,
                ropeTheta,
                ropeScaling,
                maxPositionEmbeddings,
                tieWordEmbeddings,
                attentionBias,
                mlpBias,
                slidingWindow,
                bosTokenId,
                Arrays.hashCode(eosTokenIds),
                padTokenId,
                torchDtype,
                queryPreAttnScalar,
                ropeLocalTheta,
                Arrays.hashCode(slidingLayers));
    }

    @Override
    public String toString() {
        return architecture.hfClass() + "[vocab " + vocabSize + ", hidden " + hiddenSize + ", intermediate "
                + intermediateSize + ", layers " + numLayers + ", heads " + numHeads + "/" + numKvHeads
                + " kv, head_dim "
                + headDim + ", rope " + ropeTheta
                + (ropeScaling.type() == RopeScaling.Type.NONE ? "" : " " + ropeScaling)
                + (tieWordEmbeddings ? ", tied" : "") + (slidingWindow == null ? "" : ", window " + slidingWindow)
                + (slidingLayers == null
                        ? ""
                        : " on " + slidingCount() + " of " + numLayers + " layers, local rope " + ropeLocalTheta)
                + (queryPreAttnScalar == headDim ? "" : ", query_pre_attn_scalar " + queryPreAttnScalar)
                + "]";
    }

    private int slidingCount() {
        int n = 0;
        for (boolean b : slidingLayers) if (b) n++;
        return n;
    }
}
