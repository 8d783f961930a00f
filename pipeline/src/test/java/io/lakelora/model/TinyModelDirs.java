package io.lakelora.model;

import io.lakelora.lora.TargetModule;
import io.lakelora.model.nn.FrozenLinear;
import io.lakelora.safetensors.DType;
import io.lakelora.safetensors.SafetensorsWriter;
import io.lakelora.util.Assets;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Writes Hugging Face model directories of small random models for tests: {@code config.json} from
 * {@link ModelConfig#toJson()}, {@code model.safetensors} (F32) under the tensor names transformers saves for the
 * family (Gemma 3's norm weights stored as offsets from 1, as Gemma3RMSNorm holds them), optionally with the
 * stories260K tokenizer (512 tokens) so that jobs 01-05 can run on the model.
 */
public final class TinyModelDirs {
    private TinyModelDirs() {}

    /** A random model of {@code cfg} (weights uniform with std {@code std}) written to {@code dir}; returns dir. */
    public static Path random(Path dir, ModelConfig cfg, long seed, float std) {
        return write(dir, LlamaWeights.random(cfg, seed, std, null));
    }

    /** {@code w} (dense) as an HF model directory. */
    public static Path write(Path dir, LlamaWeights w) {
        ModelConfig a = w.arch();
        float off = a.normOffset();
        try {
            Files.createDirectories(dir);
            Files.writeString(dir.resolve("config.json"), a.toJson());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        int C = a.hiddenSize();
        SafetensorsWriter out = new SafetensorsWriter(dir.resolve("model.safetensors")).metadata("format", "pt");
        out.add("model.embed_tokens.weight", DType.F32, new long[] {a.vocabSize(), C}, w.embedding());
        for (int l = 0; l < a.numLayers(); l++) {
            LayerWeights lw = w.layer(l);
            String p = "model.layers." + l + ".";
            norm(out, p + "input_layernorm.weight", lw.attnNorm(), off);
            if (a.sandwichNorms()) {
                norm(out, p + "post_attention_layernorm.weight", lw.postAttnNorm(), off);
                norm(out, p + "pre_feedforward_layernorm.weight", lw.mlpNorm(), off);
                norm(out, p + "post_feedforward_layernorm.weight", lw.postMlpNorm(), off);
            } else {
                norm(out, p + "post_attention_layernorm.weight", lw.mlpNorm(), off);
            }
            if (a.architecture().qkNorm()) {
                norm(out, p + "self_attn.q_norm.weight", lw.qNorm(), off);
                norm(out, p + "self_attn.k_norm.weight", lw.kNorm(), off);
            }
            for (TargetModule m : TargetModule.values()) {
                FrozenLinear lin = lw.linear(m);
                out.add(
                        m.modulePath(l) + ".weight",
                        DType.F32,
                        new long[] {lin.outFeatures(), lin.inFeatures()},
                        lin.weightFp32());
                if (lin.bias() != null) {
                    out.add(m.modulePath(l) + ".bias", DType.F32, new long[] {lin.outFeatures()}, lin.bias());
                }
            }
        }
        norm(out, "model.norm.weight", w.finalNorm(), off);
        if (!a.tieWordEmbeddings()) {
            out.add(
                    "lm_head.weight",
                    DType.F32,
                    new long[] {a.vocabSize(), C},
                    w.lmHead().weightFp32());
        }
        out.write();
        return dir;
    }

    /** Copies stories260K's tokenizer.json and tokenizer_config.json (512 tokens) into {@code dir}. */
    public static Path withStoriesTokenizer(Path dir) {
        try {
            for (String f : new String[] {"tokenizer.json", "tokenizer_config.json"}) {
                Files.copy(Assets.require("models/stories260K-hf/" + f), dir.resolve(f));
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return dir;
    }

    private static void norm(SafetensorsWriter out, String name, float[] multiplier, float offset) {
        float[] stored = multiplier.clone();
        for (int i = 0; i < stored.length; i++) stored[i] -= offset;
        out.add(name, DType.F32, new long[] {stored.length}, stored);
    }
}
