package io.lakelora.assets;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.lakelora.error.BadInputException;
import io.lakelora.quant.PythonJson;
import io.lakelora.safetensors.DType;
import io.lakelora.safetensors.SafetensorsWriter;
import io.lakelora.tokenizer.Llama2cVocab;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Converts a llama2.c "v0" checkpoint and its tokenizer .bin into the Hugging Face layout, as transformers'
 * {@code convert_llama_weights_to_hf.py} does for Meta checkpoints: {@code config.json} (LlamaForCausalLM),
 * {@code model.safetensors} (F32, HF names in sorted order, q/k rows permuted from llama2.c's interleaved RoPE pairs to
 * HF's rotate_half halves), {@code tokenizer.json} (via {@link Llama2cVocab}), {@code tokenizer_config.json} and
 * {@code generation_config.json}, the JSON files as Python's {@code json.dump} writes them. For stories260K the
 * output equals {@code ../shared/assets/models/stories260K-hf} byte for byte.
 *
 * <p>The v0 file (llama2.c {@code export.py --version 0}, "legacy"): 7 int32 {@code dim, hidden_dim, n_layers,
 * n_heads, n_kv_heads, vocab_size (negative: unshared classifier), seq_len}, then fp32 tensors: token embedding
 * (V, C); per kind, all layers: attention norm (L, C), wq (L, C, C), wk (L, KV, C), wv (L, KV, C), wo (L, C, C), ffn
 * norm (L, C), w1 (L, H, C), w2 (L, C, H), w3 (L, H, C); final norm (C); RoPE cos and sin tables (T, HS/2); the
 * classifier (V, C) when unshared. llama2.c's run.c fixes rms_norm_eps = 1e-5 and rope_theta = 10000; the RoPE tables
 * in the file are checked against that theta.
 */
public final class Llama2cConverter {
    /** The llama2.c "version 1+" files start with this magic ("ak42"); only v0 is handled. */
    private static final int MAGIC_V1 = 0x616b3432;

    private static final int HEADER_BYTES = 7 * 4;

    private Llama2cConverter() {}

    /** The v0 header; {@code vocabSize} is positive, {@code sharedClassifier} carries the sign. */
    public record Header(
            int dim,
            int hiddenDim,
            int nLayers,
            int nHeads,
            int nKvHeads,
            int vocabSize,
            boolean sharedClassifier,
            int seqLen) {
        int headDim() {
            return dim / nHeads;
        }

        int kvDim() {
            return headDim() * nKvHeads;
        }

        /** Floats after the header: every tensor, the RoPE tables and the classifier when unshared. */
        long floats() {
            long v = vocabSize, c = dim, l = nLayers, h = hiddenDim, kv = kvDim();
            long layers = l * (c + c * c + 2 * kv * c + c * c + c + 3 * h * c);
            return v * c + layers + c + (long) seqLen * headDim() + (sharedClassifier ? 0 : v * c);
        }
    }

    /** Reads and checks the header of a v0 checkpoint; fails naming the file, what was found and the fix. */
    public static Header readHeader(Path checkpoint) {
        String fix = ". Fix: export the model with llama2.c's export.py --version 0 (legacy), or download the "
                + "original stories*.bin";
        ByteBuffer b = ByteBuffer.allocate(HEADER_BYTES).order(ByteOrder.LITTLE_ENDIAN);
        long size;
        try (FileChannel ch = FileChannel.open(checkpoint, StandardOpenOption.READ)) {
            size = ch.size();
            while (b.hasRemaining() && ch.read(b, b.position()) > 0) {}
        } catch (IOException e) {
            throw new UncheckedIOException("reading llama2.c checkpoint " + checkpoint, e);
        }
        if (b.hasRemaining()) {
            throw new BadInputException("llama2.c checkpoint " + checkpoint + " has " + size + " bytes, fewer than the "
                    + HEADER_BYTES + "-byte header" + fix);
        }
        int[] h = new int[7];
        for (int i = 0; i < 7; i++) h[i] = b.getInt(4 * i);
        if (h[0] == MAGIC_V1) {
            throw new UnsupportedOperationException("llama2.c checkpoint " + checkpoint + " is a version " + b.getInt(4)
                    + " export (magic \"ak42\"); only the v0 (legacy) format is converted" + fix);
        }
        Header hd = new Header(h[0], h[1], h[2], h[3], h[4], Math.abs(h[5]), h[5] > 0, h[6]);
        boolean ok = hd.dim > 0
                && hd.hiddenDim > 0
                && hd.nLayers > 0
                && hd.nHeads > 0
                && hd.nKvHeads > 0
                && h[5] != 0
                && hd.seqLen > 0
                && hd.dim % hd.nHeads == 0
                && hd.headDim() % 2 == 0
                && hd.nHeads % hd.nKvHeads == 0;
        if (!ok) {
            throw new BadInputException("llama2.c checkpoint " + checkpoint + " has header dim=" + h[0] + " hidden_dim="
                    + h[1] + " n_layers=" + h[2] + " n_heads=" + h[3] + " n_kv_heads=" + h[4] + " vocab_size=" + h[5]
                    + " seq_len=" + h[6] + ", expected positive sizes, dim divisible by n_heads into an even head "
                    + "size and n_heads divisible by n_kv_heads" + fix);
        }
        long expected = HEADER_BYTES + 4 * hd.floats();
        if (size != expected) {
            throw new BadInputException("llama2.c checkpoint " + checkpoint + " has " + size + " bytes, expected "
                    + expected + " for its header (" + hd + ")" + fix);
        }
        return hd;
    }

    /**
     * Writes the HF files for {@code checkpoint} + {@code tokenizer} into {@code outDir} (created; existing files of
     * the same names are replaced); {@code metadata} goes into the safetensors header. Returns the files written.
     */
    public static List<Path> toHf(Path checkpoint, Path tokenizer, Path outDir, Map<String, String> metadata) {
        Header h = readHeader(checkpoint);
        Llama2cVocab.Converted tok = Llama2cVocab.convert(tokenizer, h.vocabSize);
        try (FileChannel ch = FileChannel.open(checkpoint, StandardOpenOption.READ)) {
            checkRope(ch, h, checkpoint);
            Files.createDirectories(outDir);
            SafetensorsWriter w = new SafetensorsWriter(outDir.resolve("model.safetensors")).metadata(metadata);
            for (Map.Entry<String, Tensor> e : tensors(h).entrySet()) {
                Tensor t = e.getValue();
                w.add(e.getKey(), DType.F32, t.shape, sink -> {
                    long count = Math.multiplyExact(t.shape[0], t.shape.length > 1 ? t.shape[1] : 1);
                    float[] data = read(ch, t.offset, count, checkpoint);
                    if (t.permuteHeads > 0) {
                        data = permuteRotary(data, t.permuteHeads, (int) t.shape[0], (int) t.shape[1]);
                    }
                    sink.writeFloats(data, 0, data.length);
                });
            }
            w.write();
        } catch (IOException e) {
            throw new UncheckedIOException("converting " + checkpoint + " into " + outDir, e);
        }
        writeText(outDir.resolve("config.json"), PythonJson.dumps(config(h, tok), 2, true));
        writeText(outDir.resolve("generation_config.json"), PythonJson.dumps(generationConfig(tok), 2, true));
        writeText(outDir.resolve("tokenizer.json"), PythonJson.dumps(parse(tok.tokenizerJson()), 1, false));
        writeText(outDir.resolve("tokenizer_config.json"), PythonJson.dumps(tokenizerConfig(h, tok), 2, true));
        return List.of(
                outDir.resolve("config.json"),
                outDir.resolve("generation_config.json"),
                outDir.resolve("model.safetensors"),
                outDir.resolve("tokenizer.json"),
                outDir.resolve("tokenizer_config.json"));
    }

    /** One HF tensor: its HF shape, byte offset in the checkpoint, and the head count to permute q/k rows by. */
    private record Tensor(long[] shape, long offset, int permuteHeads) {}

    /** HF name -> tensor, sorted by name (the order safetensors' Python writer uses for one dtype). */
    static TreeMap<String, Tensor> tensors(Header h) {
        TreeMap<String, Tensor> m = new TreeMap<>();
        long c = h.dim, v = h.vocabSize, hid = h.hiddenDim, kv = h.kvDim(), l = h.nLayers;
        long off = HEADER_BYTES;
        m.put("model.embed_tokens.weight", new Tensor(new long[] {v, c}, off, 0));
        off += 4 * v * c;
        // per kind, all layers, in file order; cols 0 = a vector
        record Kind(String hfName, long rows, long cols, int permuteHeads) {}
        List<Kind> kinds = List.of(
                new Kind("input_layernorm", c, 0, 0),
                new Kind("self_attn.q_proj", c, c, h.nHeads),
                new Kind("self_attn.k_proj", kv, c, h.nKvHeads),
                new Kind("self_attn.v_proj", kv, c, 0),
                new Kind("self_attn.o_proj", c, c, 0),
                new Kind("post_attention_layernorm", c, 0, 0),
                new Kind("mlp.gate_proj", hid, c, 0),
                new Kind("mlp.down_proj", c, hid, 0),
                new Kind("mlp.up_proj", hid, c, 0));
        for (Kind k : kinds) {
            long per = k.cols == 0 ? k.rows : k.rows * k.cols;
            long[] shape = k.cols == 0 ? new long[] {k.rows} : new long[] {k.rows, k.cols};
            for (int i = 0; i < l; i++) {
                m.put(
                        "model.layers." + i + "." + k.hfName + ".weight",
                        new Tensor(shape, off + 4 * per * i, k.permuteHeads));
            }
            off += 4 * per * l;
        }
        m.put("model.norm.weight", new Tensor(new long[] {c}, off, 0));
        off += 4 * c + 4L * h.seqLen * h.headDim(); // final norm, then the cos and sin tables (T, HS/2) each
        if (!h.sharedClassifier) m.put("lm_head.weight", new Tensor(new long[] {v, c}, off, 0));
        return m;
    }

    /**
     * convert_llama_weights_to_hf.py's {@code permute}: {@code w.view(heads, rows/heads/2, 2, cols).transpose(1, 2)}:
     * within each head, row {@code 2i + j} (llama2.c's interleaved RoPE pair i) moves to {@code j * HS/2 + i}.
     */
    static float[] permuteRotary(float[] w, int heads, int rows, int cols) {
        int hs = rows / heads, half = hs / 2;
        float[] out = new float[w.length];
        for (int h = 0; h < heads; h++) {
            for (int i = 0; i < half; i++) {
                for (int j = 0; j < 2; j++) {
                    System.arraycopy(w, (h * hs + 2 * i + j) * cols, out, (h * hs + j * half + i) * cols, cols);
                }
            }
        }
        return out;
    }

    /** The cos table row for position 1 must be cos(theta_i) with theta_i = 10000^(-2i/HS), as run.c assumes. */
    private static void checkRope(FileChannel ch, Header h, Path file) throws IOException {
        if (h.seqLen < 2) return;
        int half = h.headDim() / 2;
        long cosTable = HEADER_BYTES
                + 4
                        * (h.floats()
                                - (long) h.seqLen * h.headDim()
                                - (h.sharedClassifier ? 0 : (long) h.vocabSize * h.dim));
        float[] row1 = read(ch, cosTable + 4L * half, half, file);
        for (int i = 0; i < half; i++) {
            double expected = Math.cos(Math.pow(10000.0, -2.0 * i / h.headDim()));
            if (Math.abs(row1[i] - expected) > 1e-5) {
                throw new UnsupportedOperationException("llama2.c checkpoint " + file + ": RoPE cos table entry "
                        + "(pos 1, " + i + ") is " + row1[i] + ", expected " + expected + " for rope_theta 10000 "
                        + "(llama2.c's). Fix: convert this model with its own rope_theta by hand; only theta 10000 is "
                        + "converted");
            }
        }
    }

    private static float[] read(FileChannel ch, long offset, long count, Path file) {
        ByteBuffer b = ByteBuffer.allocate(Math.toIntExact(Math.multiplyExact(count, 4)))
                .order(ByteOrder.LITTLE_ENDIAN);
        try {
            while (b.hasRemaining()) {
                if (ch.read(b, offset + b.position()) < 0) throw new IOException("unexpected end of file");
            }
        } catch (IOException e) {
            throw new UncheckedIOException("reading llama2.c checkpoint " + file + " at byte " + offset, e);
        }
        float[] f = new float[(int) count];
        b.flip().asFloatBuffer().get(f);
        return f;
    }

    private static Map<String, Object> config(Header h, Llama2cVocab.Converted tok) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("architectures", List.of("LlamaForCausalLM"));
        m.put("model_type", "llama");
        m.put("hidden_size", h.dim);
        m.put("intermediate_size", h.hiddenDim);
        m.put("num_hidden_layers", h.nLayers);
        m.put("num_attention_heads", h.nHeads);
        m.put("num_key_value_heads", h.nKvHeads);
        m.put("head_dim", h.headDim());
        m.put("vocab_size", h.vocabSize);
        m.put("max_position_embeddings", h.seqLen);
        m.put("rms_norm_eps", 1e-5);
        m.put("rope_theta", 10000.0);
        m.put("hidden_act", "silu");
        m.put("tie_word_embeddings", h.sharedClassifier);
        m.put("attention_bias", false);
        m.put("mlp_bias", false);
        m.put("bos_token_id", tok.bosId());
        m.put("eos_token_id", tok.eosId());
        m.put("torch_dtype", "float32");
        m.put("initializer_range", 0.02);
        m.put("use_cache", true);
        return m;
    }

    private static Map<String, Object> generationConfig(Llama2cVocab.Converted tok) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("bos_token_id", tok.bosId());
        m.put("eos_token_id", tok.eosId());
        m.put("do_sample", false);
        return m;
    }

    private static Map<String, Object> tokenizerConfig(Header h, Llama2cVocab.Converted tok) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("add_bos_token", true);
        m.put("add_eos_token", false);
        m.put("bos_token", tok.bosPiece());
        m.put("eos_token", tok.eosPiece());
        m.put("unk_token", tok.unkPiece());
        m.put("pad_token", null);
        m.put("legacy", false);
        m.put("model_max_length", h.seqLen);
        m.put("tokenizer_class", "LlamaTokenizer");
        m.put("clean_up_tokenization_spaces", false);
        m.put("sp_model_kwargs", Map.of());
        return m;
    }

    private static JsonNode parse(byte[] json) {
        try {
            return new ObjectMapper().readTree(json);
        } catch (IOException e) {
            throw new IllegalStateException("the tokenizer.json we built does not parse", e);
        }
    }

    private static void writeText(Path file, String text) {
        try {
            Files.writeString(file, text, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException("writing " + file, e);
        }
    }
}
