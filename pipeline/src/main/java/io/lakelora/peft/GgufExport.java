package io.lakelora.peft;

import io.lakelora.error.BadInputException;
import io.lakelora.gguf.GgmlType;
import io.lakelora.gguf.GgufWriter;
import io.lakelora.lora.AdapterLayout;
import io.lakelora.lora.AdapterState;
import io.lakelora.lora.LoraConfig;
import io.lakelora.lora.TargetModule;
import io.lakelora.model.Architecture;
import io.lakelora.model.LlamaLoader;
import io.lakelora.model.ModelConfig;
import io.lakelora.model.ModelDir;
import io.lakelora.model.RopeScaling;
import io.lakelora.safetensors.ShardedCheckpoint;
import io.lakelora.tokenizer.SentencePieceVocab;
import io.lakelora.tokenizer.Tokenizer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;

/**
 * Models and LoRA adapters as GGUF files for llama.cpp and Ollama, written as llama.cpp's converters write them:
 * {@link #writeModel} a base model, or a merged one ({@code W + s B A}), as {@code convert_hf_to_gguf.py} does, with
 * its SentencePiece vocabulary; {@link #writeAdapter} a LoRA adapter as {@code convert_lora_to_gguf.py} does
 * ({@code general.type = adapter}, {@code adapter.type = lora}, {@code adapter.lora.alpha}, tensors
 * {@code blk.N.attn_q.weight.lora_a} of ggml shape {@code [in, r]} and {@code .lora_b} of {@code [r, out]}).
 *
 * <p>Hugging Face stores the rows of q_proj and k_proj per head as two halves ({@code rotate_half} RoPE); llama.cpp's
 * {@code llama} architecture rotates adjacent pairs, so the converter puts row {@code i} and {@code i + head_dim/2} of
 * each head next to each other ({@link #interleaveHeads}). The adapter's B rows of q/k get the same permutation (A
 * is unchanged), so base + adapter in llama.cpp computes what the model computes here. Qwen2's GGUF keeps HF's layout.
 *
 * <p>Storage: vectors and norms in F32; 2-D weights in the chosen type, Q8_0 only where the row length is a multiple
 * of 32 (else F16, as the converter falls back). llama.cpp scales an adapter by {@code alpha / r}; for an rsLoRA
 * adapter ({@code alpha / sqrt(r)}) the file carries {@code alpha * sqrt(r)} so llama.cpp applies the same scale.
 */
public final class GgufExport {
    private static final Map<TargetModule, String> NAMES = new EnumMap<>(Map.of(
            TargetModule.Q, "attn_q",
            TargetModule.K, "attn_k",
            TargetModule.V, "attn_v",
            TargetModule.O, "attn_output",
            TargetModule.GATE, "ffn_gate",
            TargetModule.UP, "ffn_up",
            TargetModule.DOWN, "ffn_down"));
    /** {@code LlamaFileType}: ALL_F32, MOSTLY_F16, MOSTLY_Q8_0, MOSTLY_BF16. */
    private static final Map<GgmlType, Integer> FILE_TYPE =
            Map.of(GgmlType.F32, 0, GgmlType.F16, 1, GgmlType.Q8_0, 7, GgmlType.BF16, 32);
    /** {@code GGML_QUANT_VERSION}. */
    private static final int QUANT_VERSION = 2;

    private GgufExport() {}

    /** What was written: the file, its size, and how many tensors of each ggml type. */
    public record Written(Path file, long bytes, Map<GgmlType, Integer> tensorTypes) {
        public Map<String, Object> asMap() {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("file", file.toString());
            m.put("bytes", bytes);
            Map<String, Integer> t = new LinkedHashMap<>();
            tensorTypes.forEach((k, v) -> t.put(k.cliName(), v));
            m.put("tensor_types", t);
            return m;
        }
    }

    /** llama.cpp's architecture name for {@code a}. */
    static String ggufArch(Architecture a) {
        return switch (a) {
            case LLAMA, MISTRAL -> "llama";
            case QWEN2 -> "qwen2";
            default ->
                throw new UnsupportedOperationException(
                        "GGUF export of " + a.hfClass() + " is not supported (llama, mistral and qwen2 are)");
        };
    }

    /** Whether llama.cpp's converter interleaves the RoPE halves of q/k rows for this architecture. */
    static boolean interleavesQk(Architecture a) {
        return a == Architecture.LLAMA || a == Architecture.MISTRAL;
    }

    /**
     * Reorders the rows of {@code w} ({@code [heads * headDim, cols]}, row-major) from Hugging Face's two halves per
     * head to llama.cpp's adjacent pairs: row {@code h*hd + s*hd/2 + i} moves to {@code h*hd + 2i + s} (llama.cpp's
     * {@code LlamaModel.permute}: reshape to (heads, 2, hd/2, cols), swap axes 1 and 2).
     */
    static float[] interleaveHeads(float[] w, int heads, int cols) {
        int rows = w.length / cols;
        if (rows * cols != w.length || rows % heads != 0 || (rows / heads) % 2 != 0) {
            throw new IllegalArgumentException(rows + " rows do not split into " + heads + " heads of even size");
        }
        int hd = rows / heads, half = hd / 2;
        float[] out = new float[w.length];
        for (int h = 0; h < heads; h++) {
            for (int s = 0; s < 2; s++) {
                for (int i = 0; i < half; i++) {
                    System.arraycopy(w, (h * hd + s * half + i) * cols, out, (h * hd + 2 * i + s) * cols, cols);
                }
            }
        }
        return out;
    }

    /** The type a tensor is stored in: F32 for vectors and norms, else {@code ftype} if its rows fit, else F16. */
    static GgmlType storageType(String name, long[] ne, GgmlType ftype) {
        if (ne.length <= 1 || name.endsWith("_norm.weight")) return GgmlType.F32;
        return ftype.fitsRow(ne[0]) ? ftype : GgmlType.F16;
    }

    /**
     * Writes the LoRA adapter {@code adapter} of a model shaped {@code cfg} as a llama.cpp LoRA GGUF, its A and B
     * tensors in {@code ftype} (F32 keeps them exact; convert_lora_to_gguf.py's default).
     */
    public static Written writeAdapter(
            PeftAdapter.Loaded adapter, ModelConfig cfg, GgmlType ftype, Path out, String name) {
        LoraConfig lc = adapter.config();
        if (lc.initKind() == LoraConfig.InitKind.PISSA
                || lc.initKind() == LoraConfig.InitKind.PISSA_NITER
                || lc.initKind() == LoraConfig.InitKind.LOFTQ) {
            throw new BadInputException("adapter for " + name + " has init_lora_weights '" + lc.initLoraWeights()
                    + "': it was trained against a rewritten base, so applied to the original base in llama.cpp it "
                    + "would be wrong. Fix: export it as a plain LoRA first (PEFT's "
                    + "path_initial_model_for_weight_conversion), then convert that");
        }
        String arch = ggufArch(cfg.architecture());
        AdapterLayout layout = adapter.layout();
        float[] p = adapter.params();
        double alpha = lc.useRslora() ? lc.loraAlpha() * Math.sqrt(lc.r()) : lc.loraAlpha();
        if (!(alpha > 0)) {
            throw new BadInputException("adapter for " + name + " has lora_alpha " + lc.loraAlpha() + "; llama.cpp "
                    + "reads alpha 0 as 'no scaling' (scale 1). Fix: give the adapter a positive lora_alpha");
        }
        GgufWriter w = new GgufWriter(out)
                .putString("general.architecture", arch)
                .putString("general.type", "adapter")
                .putString("general.name", name)
                .putU32("general.file_type", FILE_TYPE.get(ftype))
                .putString("adapter.type", "lora")
                .putF32("adapter.lora.alpha", (float) alpha)
                .putU32("general.quantization_version", QUANT_VERSION);
        Map<GgmlType, Integer> counts = new EnumMap<>(GgmlType.class);
        for (int l = 0; l < layout.numLayers(); l++) {
            for (TargetModule m : layout.targets()) {
                AdapterLayout.Tensor a = layout.find(l, m, true);
                AdapterLayout.Tensor b = layout.find(l, m, false);
                String base = "blk." + l + "." + NAMES.get(m) + ".weight";
                int heads = m == TargetModule.Q ? cfg.numHeads() : m == TargetModule.K ? cfg.numKvHeads() : 0;
                boolean permute = heads > 0 && interleavesQk(cfg.architecture());
                add(
                        w,
                        counts,
                        base + ".lora_a",
                        new long[] {a.cols(), a.rows()},
                        ftype,
                        () -> AdapterState.copyOf(p, a));
                add(w, counts, base + ".lora_b", new long[] {b.cols(), b.rows()}, ftype, () -> {
                    float[] v = AdapterState.copyOf(p, b);
                    return permute ? interleaveHeads(v, heads, b.cols()) : v;
                });
            }
        }
        return new Written(out, w.write(), counts);
    }

    private static void add(
            GgufWriter w,
            Map<GgmlType, Integer> counts,
            String name,
            long[] ne,
            GgmlType ftype,
            Supplier<float[]> data) {
        GgmlType t = storageType(name.replaceAll("\\.lora_[ab]$", ""), ne, ftype);
        w.addTensor(name, t, ne, data);
        counts.merge(t, 1, Integer::sum);
    }

    /**
     * Writes the model of {@code modelDir} as GGUF with its weights in {@code ftype}; with {@code adapter} non-null,
     * the merged model ({@code W + s B A} for every adapted linear, summed in double from the full-precision base, one
     * rounding to fp32, then stored as {@code ftype}). The vocabulary must be SentencePiece-style (LLaMA-2, Mistral,
     * TinyLlama, the llama2.c models).
     */
    public static Written writeModel(Path modelDir, PeftAdapter.Loaded adapter, GgmlType ftype, Path out) {
        ModelDir md = ModelDir.open(modelDir);
        ModelConfig cfg = md.config();
        if (LlamaLoader.storedQuantization(md.path()) != null) {
            throw new UnsupportedOperationException("model " + md.path() + " is a quantized checkpoint "
                    + "(config.json has quantization_config). Fix: export the original fp16/bf16/fp32 model directory");
        }
        if (!interleavesQk(cfg.architecture())) {
            throw new UnsupportedOperationException(
                    "GGUF export of a whole " + cfg.architecture().hfClass()
                            + " model is not supported (LlamaForCausalLM and MistralForCausalLM are). Fix: convert the base "
                            + "with llama.cpp's convert_hf_to_gguf.py and use LakeLoRA's adapter GGUF with it");
        }
        if (cfg.ropeScaling().type() == RopeScaling.Type.LLAMA3) {
            throw new UnsupportedOperationException("GGUF export of a model with llama3 RoPE scaling is not "
                    + "supported. Fix: convert the base with llama.cpp's convert_hf_to_gguf.py");
        }
        if (cfg.mlpBias() && cfg.architecture() != Architecture.LLAMA) {
            throw new UnsupportedOperationException("mlp_bias is only exported for LlamaForCausalLM");
        }
        if (adapter != null
                && adapter.params().length
                        != PeftAdapter.layoutFor(cfg, adapter.config()).size()) {
            throw new IllegalArgumentException("the adapter does not fit model " + md.path());
        }
        SentencePieceVocab vocab = SentencePieceVocab.of(md.path());
        GgufWriter w = new GgufWriter(out);
        String name = md.path().getFileName().toString() + (adapter != null ? "-merged" : "");
        putModelMetadata(w, cfg, name, ftype);
        try (Tokenizer tok = Tokenizer.load(md.path())) {
            putVocab(w, vocab, tok, cfg, md.path());
        }
        Map<String, AdapterLayout.Tensor[]> adapted = new LinkedHashMap<>();
        if (adapter != null) {
            AdapterLayout layout = adapter.layout();
            for (int l = 0; l < layout.numLayers(); l++) {
                for (TargetModule m : layout.targets()) {
                    adapted.put(
                            m.modulePath(l) + ".weight",
                            new AdapterLayout.Tensor[] {layout.find(l, m, true), layout.find(l, m, false)});
                }
            }
        }
        Map<GgmlType, Integer> counts = new EnumMap<>(GgmlType.class);
        long bytes;
        try (ShardedCheckpoint ck = md.openWeights()) {
            List<String[]> plan = tensorPlan(cfg);
            for (String[] t : plan) {
                String hf = t[0], gguf = t[1];
                int heads = "q".equals(t[2]) ? cfg.numHeads() : "k".equals(t[2]) ? cfg.numKvHeads() : 0;
                if (!ck.contains(hf)) {
                    throw new BadInputException("model " + md.path() + " has no tensor " + hf + ". Fix: pass a "
                            + "complete Hugging Face model directory");
                }
                long[] shape = ck.info(hf).shape();
                long[] ne = new long[shape.length];
                for (int i = 0; i < shape.length; i++) ne[i] = shape[shape.length - 1 - i];
                AdapterLayout.Tensor[] ab = adapted.get(hf);
                GgmlType type = storageType(gguf, ne, ftype);
                w.addTensor(gguf, type, ne, () -> {
                    float[] v = ck.readFloats(hf);
                    if (ab != null)
                        PeftMerge.addScaledProduct(
                                v,
                                adapter.params(),
                                ab[0],
                                ab[1],
                                adapter.config().scaling());
                    if (heads > 0) v = interleaveHeads(v, heads, shape.length == 2 ? (int) shape[1] : 1);
                    return v;
                });
                counts.merge(type, 1, Integer::sum);
            }
            bytes = w.write();
        }
        return new Written(out, bytes, counts);
    }

    /** (HF name, GGUF name, "q" | "k" | "") of every tensor llama.cpp's llama architecture loads, in file order. */
    static List<String[]> tensorPlan(ModelConfig cfg) {
        List<String[]> plan = new ArrayList<>();
        plan.add(new String[] {"model.embed_tokens.weight", "token_embd.weight", ""});
        for (int l = 0; l < cfg.numLayers(); l++) {
            String hf = "model.layers." + l + ".", g = "blk." + l + ".";
            plan.add(new String[] {hf + "input_layernorm.weight", g + "attn_norm.weight", ""});
            for (TargetModule m : TargetModule.values()) {
                String qk = m == TargetModule.Q ? "q" : m == TargetModule.K ? "k" : "";
                plan.add(new String[] {m.modulePath(l) + ".weight", g + NAMES.get(m) + ".weight", qk});
                boolean bias = switch (m) {
                    case Q, K, V -> cfg.attentionBias();
                    case O -> cfg.oProjBias();
                    default -> cfg.mlpBias();
                };
                if (bias) plan.add(new String[] {m.modulePath(l) + ".bias", g + NAMES.get(m) + ".bias", qk});
                if (m == TargetModule.O) {
                    plan.add(new String[] {hf + "post_attention_layernorm.weight", g + "ffn_norm.weight", ""});
                }
            }
        }
        plan.add(new String[] {"model.norm.weight", "output_norm.weight", ""});
        if (!cfg.tieWordEmbeddings()) plan.add(new String[] {"lm_head.weight", "output.weight", ""});
        return plan;
    }

    private static void putModelMetadata(GgufWriter w, ModelConfig cfg, String name, GgmlType ftype) {
        String a = "llama";
        w.putString("general.architecture", a)
                .putString("general.type", "model")
                .putString("general.name", name)
                .putU32(a + ".vocab_size", cfg.vocabSize())
                .putU32(a + ".context_length", cfg.maxPositionEmbeddings())
                .putU32(a + ".embedding_length", cfg.hiddenSize())
                .putU32(a + ".block_count", cfg.numLayers())
                .putU32(a + ".feed_forward_length", cfg.intermediateSize())
                .putU32(a + ".attention.head_count", cfg.numHeads())
                .putU32(a + ".attention.head_count_kv", cfg.numKvHeads())
                .putF32(a + ".rope.freq_base", (float) cfg.ropeTheta())
                .putF32(a + ".attention.layer_norm_rms_epsilon", (float) cfg.rmsNormEps())
                .putU32(a + ".attention.key_length", cfg.headDim())
                .putU32(a + ".attention.value_length", cfg.headDim())
                .putU32(a + ".rope.dimension_count", cfg.headDim())
                .putU32("general.file_type", FILE_TYPE.get(ftype))
                .putU32("general.quantization_version", QUANT_VERSION);
        if (cfg.ropeScaling().type() == RopeScaling.Type.LINEAR) {
            w.putString(a + ".rope.scaling.type", "linear").putF32(a + ".rope.scaling.factor", (float)
                    cfg.ropeScaling().factor());
        }
    }

    /** The {@code tokenizer.ggml.*} keys of a SentencePiece vocabulary (llama.cpp's tokenizer model "llama"). */
    private static void putVocab(GgufWriter w, SentencePieceVocab vocab, Tokenizer tok, ModelConfig cfg, Path dir) {
        int n = cfg.vocabSize();
        if (vocab.size() > n) {
            throw new BadInputException("tokenizer of " + dir + " has " + vocab.size() + " tokens but the model's "
                    + "vocab_size is " + n + ". Fix: use the tokenizer that belongs to the model");
        }
        List<String> tokens = new ArrayList<>(n);
        float[] scores = new float[n];
        int[] types = new int[n];
        for (int i = 0; i < n; i++) {
            if (i < vocab.size()) {
                SentencePieceVocab.Piece p = vocab.pieces().get(i);
                tokens.add(p.text());
                scores[i] = p.score();
                types[i] = p.type();
            } else { // embedding rows past the tokenizer: convert_hf_to_gguf.py's padding tokens
                tokens.add("[PAD" + i + "]");
                scores[i] = -1000f;
                types[i] = SentencePieceVocab.UNUSED;
            }
        }
        w.putString("tokenizer.ggml.model", "llama")
                .putString("tokenizer.ggml.pre", "default")
                .putStrings("tokenizer.ggml.tokens", tokens)
                .putF32s("tokenizer.ggml.scores", scores)
                .putI32s("tokenizer.ggml.token_type", types);
        int bos = tok.bosId() >= 0 ? tok.bosId() : cfg.bosTokenId() == null ? -1 : cfg.bosTokenId();
        int eos = tok.eosId() >= 0 ? tok.eosId() : cfg.eosTokenIds().length > 0 ? cfg.eosTokenIds()[0] : -1;
        if (bos >= 0) w.putU32("tokenizer.ggml.bos_token_id", bos);
        if (eos >= 0) w.putU32("tokenizer.ggml.eos_token_id", eos);
        if (vocab.unkId() >= 0) w.putU32("tokenizer.ggml.unknown_token_id", vocab.unkId());
        if (tok.padId() >= 0) w.putU32("tokenizer.ggml.padding_token_id", tok.padId());
        int[] probe = tok.encode("a", true);
        w.putBool("tokenizer.ggml.add_bos_token", probe.length > 0 && bos >= 0 && probe[0] == bos)
                .putBool("tokenizer.ggml.add_eos_token", probe.length > 1 && eos >= 0 && probe[probe.length - 1] == eos)
                .putBool("tokenizer.ggml.add_space_prefix", vocab.addDummyPrefix());
        tok.chatTemplate().ifPresent(t -> w.putString("tokenizer.chat_template", t));
    }
}
