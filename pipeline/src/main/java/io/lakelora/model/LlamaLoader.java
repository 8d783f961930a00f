package io.lakelora.model;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.lakelora.error.BadInputException;
import io.lakelora.lora.AdapterLayout;
import io.lakelora.lora.TargetModule;
import io.lakelora.model.nn.FrozenLinear;
import io.lakelora.quant.QuantType;
import io.lakelora.quant.QuantizedMatrix;
import io.lakelora.quant.io.QuantizedCheckpoint;
import io.lakelora.safetensors.ShardedCheckpoint;
import io.lakelora.safetensors.TensorInfo;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Reads a Hugging Face model directory ({@code config.json} + {@code model.safetensors} or a sharded index) into
 * {@link LlamaWeights}, layer by layer: each linear weight is read as fp32 (F32/F16/BF16 converted) and, with a
 * quantizer, quantized right away so that at most one fp32 matrix is held besides the embeddings. A directory already
 * quantized by {@code lakelora quantize} (or saved by transformers/bitsandbytes; config.json has a
 * {@code quantization_config}) is read as stored: its linear weights stay in their 4-bit form and no quantizer runs.
 * Tensor names are HF's ({@code model.layers.N.self_attn.q_proj.weight}, ...; a Gemma 3 multimodal checkpoint's text
 * decoder under {@code language_model.model.} or {@code model.language_model.}); every expected tensor must exist with
 * the expected shape. Extra tensors (an {@code lm_head.weight} copy in a tied checkpoint, old
 * {@code rotary_emb.inv_freq} buffers, Gemma 3's vision tower) are ignored. Norm weights are stored as the
 * multipliers the norms apply: Gemma 3's {@code w} is read as {@code 1 + w} ({@link ModelConfig#normOffset()}).
 */
public final class LlamaLoader {
    private LlamaLoader() {}

    /** The model configuration of {@code dir}, also for a pre-quantized directory. */
    public static ModelConfig config(Path dir) {
        Path file = dir.resolve("config.json");
        if (!Files.isRegularFile(file)) {
            throw new BadInputException("model directory " + dir + " has no config.json. Fix: pass a directory in "
                    + "Hugging Face layout (config.json, model.safetensors, tokenizer.json)");
        }
        JsonNode root;
        try {
            root = new ObjectMapper().readTree(io.lakelora.error.BoundedReads.readJsonFile(file));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + file, e);
        }
        if (root instanceof ObjectNode o && o.hasNonNull("quantization_config")) {
            ObjectNode plain = o.deepCopy();
            plain.remove("quantization_config");
            return ModelConfig.fromJson(plain.toString(), file.toString());
        }
        return ModelConfig.load(file);
    }

    /** The storage type of a pre-quantized directory's linear weights, or null when {@code dir} is not quantized. */
    public static QuantType storedQuantization(Path dir) {
        ModelConfig ignored = config(dir);
        try {
            JsonNode q = new ObjectMapper()
                    .readTree(io.lakelora.error.BoundedReads.readJsonFile(dir.resolve("config.json")))
                    .get("quantization_config");
            if (q == null || q.isNull()) return null;
            if (q.path("load_in_4bit").asBoolean(false)) {
                return QuantType.parse(q.path("bnb_4bit_quant_type").asText("fp4"));
            }
            return q.path("load_in_8bit").asBoolean(false) ? QuantType.INT8 : null;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + dir.resolve("config.json"), e);
        }
    }

    /** Loads {@code dir}; {@code quantizer} null keeps an fp32 checkpoint's linear layers in fp32. */
    public static LlamaWeights load(Path dir, WeightQuantizer quantizer) {
        ModelConfig cfg = config(dir);
        if (storedQuantization(dir) != null) {
            try (QuantizedCheckpoint qc = QuantizedCheckpoint.open(dir)) {
                LinearSource stored = (name, out, in) -> qc.load(name);
                return assemble(cfg, qc.tensors(), stored);
            }
        }
        try (ShardedCheckpoint ck = ShardedCheckpoint.open(dir)) {
            return load(cfg, ck, quantizer);
        }
    }

    /** Loads the weights of {@code cfg} from an open fp32/fp16/bf16 checkpoint. */
    public static LlamaWeights load(ModelConfig cfg, ShardedCheckpoint ck, WeightQuantizer quantizer) {
        LinearSource q =
                quantizer == null ? null : (name, out, in) -> quantizer.quantize(read(ck, name, out, in), out, in);
        return assemble(cfg, ck, q);
    }

    /** Produces one linear layer's quantized weight by tensor name and shape. */
    private interface LinearSource {
        QuantizedMatrix get(String weightName, int out, int in);
    }

    /** Prefixes of a text decoder's tensors: causal LMs, then Gemma 3 multimodal (transformers 4.50 / 4.52+ saves). */
    private static final String[] DECODER_PREFIXES = {"model.", "language_model.model.", "model.language_model."};

    /** The prefix under which {@code ck} holds the decoder ("model." for causal LM checkpoints). */
    static String decoderPrefix(ShardedCheckpoint ck) {
        for (String p : DECODER_PREFIXES) if (ck.contains(p + "embed_tokens.weight")) return p;
        return "model.";
    }

    private static LlamaWeights assemble(ModelConfig cfg, ShardedCheckpoint ck, LinearSource quantized) {
        int V = cfg.vocabSize();
        int C = cfg.hiddenSize();
        int HS = cfg.headDim();
        String prefix = decoderPrefix(ck);
        float off = cfg.normOffset();
        float[] emb = read(ck, prefix + "embed_tokens.weight", V, C);
        List<LayerWeights> layers = new ArrayList<>(cfg.numLayers());
        for (int l = 0; l < cfg.numLayers(); l++) {
            String p = prefix + "layers." + l + ".";
            FrozenLinear[] lin = new FrozenLinear[TargetModule.values().length];
            for (TargetModule m : TargetModule.values()) {
                int in = AdapterLayout.inFeatures(m, C, cfg.qDim(), cfg.intermediateSize());
                int out = AdapterLayout.outFeatures(m, C, cfg.qDim(), cfg.kvDim(), cfg.intermediateSize());
                String module = prefix + m.modulePath(l).substring("model.".length());
                String name = module + ".weight";
                float[] b = LlamaWeights.hasBias(cfg, m) ? read(ck, module + ".bias", out) : null;
                if (quantized == null) {
                    lin[m.ordinal()] = FrozenLinear.dense(out, in, read(ck, name, out, in), b);
                } else {
                    QuantizedMatrix q = quantized.get(name, out, in);
                    if (q.rows() != out || q.cols() != in) {
                        throw new BadInputException("quantized weight '" + name + "' in " + ck.source() + " is "
                                + q.rows() + "x" + q.cols() + ", config.json implies " + out + "x" + in);
                    }
                    lin[m.ordinal()] = FrozenLinear.quantized(q, b);
                }
            }
            boolean qk = cfg.architecture().qkNorm();
            boolean sandwich = cfg.sandwichNorms();
            layers.add(new LayerWeights(
                    norm(ck, p + "input_layernorm.weight", C, off),
                    lin[0],
                    lin[1],
                    lin[2],
                    lin[3],
                    norm(
                            ck,
                            p + (sandwich ? "pre_feedforward_layernorm" : "post_attention_layernorm") + ".weight",
                            C,
                            off),
                    lin[4],
                    lin[5],
                    lin[6],
                    qk ? norm(ck, p + "self_attn.q_norm.weight", HS, off) : null,
                    qk ? norm(ck, p + "self_attn.k_norm.weight", HS, off) : null,
                    sandwich ? norm(ck, p + "post_attention_layernorm.weight", C, off) : null,
                    sandwich ? norm(ck, p + "post_feedforward_layernorm.weight", C, off) : null));
        }
        float[] norm = norm(ck, prefix + "norm.weight", C, off);
        String headName = prefix.equals("language_model.model.") ? "language_model.lm_head.weight" : "lm_head.weight";
        FrozenLinear head = cfg.tieWordEmbeddings()
                ? FrozenLinear.denseView(V, C, emb, 0)
                : FrozenLinear.dense(V, C, read(ck, headName, V, C), null);
        return new LlamaWeights(cfg, emb, layers, norm, head);
    }

    /** A norm weight as the multiplier its norm applies: the stored values plus {@code offset} (Gemma 3: 1), in fp32. */
    private static float[] norm(ShardedCheckpoint ck, String name, int n, float offset) {
        float[] w = read(ck, name, n);
        if (offset != 0f) for (int i = 0; i < n; i++) w[i] = offset + w[i];
        return w;
    }

    private static float[] read(ShardedCheckpoint ck, String name, long... shape) {
        if (!ck.contains(name)) {
            throw new BadInputException("weights " + ck.source() + " have no tensor '" + name + "' (expected shape "
                    + Arrays.toString(shape) + "). Fix: check that config.json belongs to these weights (layer count, "
                    + "tie_word_embeddings, attention_bias) and that the names are Hugging Face's");
        }
        TensorInfo t = ck.info(name);
        if (!Arrays.equals(t.shape(), shape)) {
            throw new BadInputException("tensor '" + name + "' in " + ck.source() + " has shape "
                    + Arrays.toString(t.shape()) + ", config.json implies " + Arrays.toString(shape)
                    + ". Fix: use the config.json that belongs to these weights");
        }
        return ck.readFloats(name);
    }
}
