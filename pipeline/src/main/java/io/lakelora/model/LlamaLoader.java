package io.lakelora.model;

import io.lakelora.cli.BadInputException;
import io.lakelora.lora.AdapterLayout;
import io.lakelora.lora.TargetModule;
import io.lakelora.model.nn.FrozenLinear;
import io.lakelora.safetensors.ShardedCheckpoint;
import io.lakelora.safetensors.TensorInfo;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Reads a Hugging Face model directory ({@code config.json} + {@code model.safetensors} or a sharded index) into
 * {@link LlamaWeights}, layer by layer: each linear weight is read as fp32 (F32/F16/BF16 converted) and, with a
 * quantizer, quantized right away so that at most one fp32 matrix is held besides the embeddings. Tensor names are
 * HF's ({@code model.layers.N.self_attn.q_proj.weight}, ...); every expected tensor must exist with the expected
 * shape. Extra tensors (e.g. an {@code lm_head.weight} copy in a tied checkpoint, old {@code rotary_emb.inv_freq}
 * buffers) are ignored.
 */
public final class LlamaLoader {
    private LlamaLoader() {}

    /** Loads {@code dir}; {@code quantizer} null keeps the linear layers in fp32. */
    public static LlamaWeights load(Path dir, WeightQuantizer quantizer) {
        ModelConfig cfg = ModelConfig.load(dir.resolve("config.json"));
        try (ShardedCheckpoint ck = ShardedCheckpoint.open(dir)) {
            return load(cfg, ck, quantizer);
        }
    }

    /** Loads the weights of {@code cfg} from an open checkpoint. */
    public static LlamaWeights load(ModelConfig cfg, ShardedCheckpoint ck, WeightQuantizer quantizer) {
        int V = cfg.vocabSize();
        int C = cfg.hiddenSize();
        float[] emb = read(ck, "model.embed_tokens.weight", V, C);
        List<LayerWeights> layers = new ArrayList<>(cfg.numLayers());
        for (int l = 0; l < cfg.numLayers(); l++) {
            String p = "model.layers." + l + ".";
            FrozenLinear[] lin = new FrozenLinear[TargetModule.values().length];
            for (TargetModule m : TargetModule.values()) {
                int in = AdapterLayout.inFeatures(m, C, cfg.qDim(), cfg.intermediateSize());
                int out = AdapterLayout.outFeatures(m, C, cfg.qDim(), cfg.kvDim(), cfg.intermediateSize());
                String name = m.modulePath(l);
                float[] w = read(ck, name + ".weight", out, in);
                float[] b = LlamaWeights.hasBias(cfg, m) ? read(ck, name + ".bias", out) : null;
                lin[m.ordinal()] = quantizer == null ? FrozenLinear.dense(out, in, w, b)
                        : FrozenLinear.quantized(quantizer.quantize(w, out, in), b);
            }
            layers.add(new LayerWeights(read(ck, p + "input_layernorm.weight", C), lin[0], lin[1], lin[2], lin[3],
                    read(ck, p + "post_attention_layernorm.weight", C), lin[4], lin[5], lin[6]));
        }
        float[] norm = read(ck, "model.norm.weight", C);
        FrozenLinear head = cfg.tieWordEmbeddings() ? FrozenLinear.denseView(V, C, emb, 0)
                : FrozenLinear.dense(V, C, read(ck, "lm_head.weight", V, C), null);
        return new LlamaWeights(cfg, emb, layers, norm, head);
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
