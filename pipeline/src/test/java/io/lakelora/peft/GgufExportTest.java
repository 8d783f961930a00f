package io.lakelora.peft;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lakelora.error.BadInputException;
import io.lakelora.gguf.GgmlType;
import io.lakelora.gguf.GgufFile;
import io.lakelora.lora.AdapterLayout;
import io.lakelora.lora.LoraConfig;
import io.lakelora.lora.TargetModule;
import io.lakelora.model.LlamaLoader;
import io.lakelora.model.ModelConfig;
import io.lakelora.safetensors.ShardedCheckpoint;
import io.lakelora.util.Assets;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The files' layout as llama.cpp's converters write it (convert_hf_to_gguf.py's LlamaModel.permute of q/k rows,
 * convert_lora_to_gguf.py's names, shapes and metadata), read back with GgufFile; GgufLlamaCppTest runs them.
 */
class GgufExportTest {
    static final Path MODEL = Assets.require("models/stories260K-hf");

    @TempDir
    Path dir;

    @Test
    void interleavesTheRopeHalvesOfEachHead() {
        // llama.cpp: reshape(heads, 2, hd/2, cols).swapaxes(1, 2): head rows [0 1 2 3] -> [0 2 1 3]
        float[] w = {0, 1, 2, 3, 4, 5, 6, 7};
        assertArrayEquals(new float[] {0, 2, 1, 3, 4, 6, 5, 7}, GgufExport.interleaveHeads(w, 2, 1));
        float[] two = {0, 0.5f, 1, 1.5f, 2, 2.5f, 3, 3.5f, 4, 4.5f, 5, 5.5f}; // one head of 6 rows, 2 columns
        assertArrayEquals(
                new float[] {0, 0.5f, 3, 3.5f, 1, 1.5f, 4, 4.5f, 2, 2.5f, 5, 5.5f},
                GgufExport.interleaveHeads(two, 1, 2));
    }

    private PeftAdapter.Loaded adapter(boolean rslora) {
        ModelConfig cfg = LlamaLoader.config(MODEL);
        LoraConfig lc = LoraConfig.of(4, 8, List.of("q_proj", "k_proj", "v_proj", "down_proj"))
                .withRslora(rslora);
        AdapterLayout layout = PeftAdapter.layoutFor(cfg, lc);
        float[] p = new float[layout.size()];
        Random rnd = new Random(11);
        for (int i = 0; i < p.length; i++) p[i] = (float) rnd.nextGaussian() * 0.1f;
        Path d = dir.resolve(rslora ? "rs" : "plain");
        PeftAdapter.save(d, lc, layout, p, "stories260K");
        return PeftAdapter.load(d, cfg);
    }

    @Test
    void adapterAsConvertLoraToGgufWritesIt() {
        ModelConfig cfg = LlamaLoader.config(MODEL);
        for (boolean rs : new boolean[] {false, true}) {
            PeftAdapter.Loaded a = adapter(rs);
            Path f = dir.resolve("a" + rs + ".gguf");
            GgufExport.writeAdapter(a, cfg, GgmlType.F32, f, "stories260K-lora");
            try (GgufFile g = GgufFile.open(f)) {
                assertEquals("llama", g.metadata().get("general.architecture"));
                assertEquals("adapter", g.metadata().get("general.type"));
                assertEquals("lora", g.metadata().get("adapter.type"));
                // llama.cpp scales by alpha / r: rsLoRA's alpha / sqrt(r) needs alpha * sqrt(r) = 16 for r 4, alpha 8
                assertEquals(rs ? 16f : 8f, (Float) g.metadata().get("adapter.lora.alpha"), 0f);
                assertEquals(5 * 4 * 2, g.tensors().size());
                for (int l = 0; l < 5; l++) {
                    for (TargetModule m : List.of(TargetModule.Q, TargetModule.K, TargetModule.V, TargetModule.DOWN)) {
                        String n = "blk." + l + "."
                                + switch (m) {
                                    case Q -> "attn_q";
                                    case K -> "attn_k";
                                    case V -> "attn_v";
                                    default -> "ffn_down";
                                }
                                + ".weight";
                        AdapterLayout.Tensor ta = a.layout().find(l, m, true),
                                tb = a.layout().find(l, m, false);
                        GgufFile.TensorInfo ia = g.tensors().get(n + ".lora_a"),
                                ib = g.tensors().get(n + ".lora_b");
                        assertArrayEquals(new long[] {ta.cols(), 4}, ia.ne(), n);
                        assertArrayEquals(new long[] {4, tb.rows()}, ib.ne(), n);
                        assertEquals(GgmlType.F32, ia.type());
                        float[] wantA = java.util.Arrays.copyOfRange(a.params(), ta.offset(), ta.offset() + ta.size());
                        float[] wantB = java.util.Arrays.copyOfRange(a.params(), tb.offset(), tb.offset() + tb.size());
                        if (m == TargetModule.Q) wantB = GgufExport.interleaveHeads(wantB, 8, 4);
                        if (m == TargetModule.K) wantB = GgufExport.interleaveHeads(wantB, 4, 4);
                        assertArrayEquals(wantA, g.readFloats(n + ".lora_a"), n);
                        assertArrayEquals(wantB, g.readFloats(n + ".lora_b"), n);
                    }
                }
            }
        }
    }

    @Test
    void baseAndMergedModelAsConvertHfToGgufWritesThem() {
        PeftAdapter.Loaded a = adapter(false);
        Path base = dir.resolve("base.gguf"), merged = dir.resolve("merged.gguf"), q8 = dir.resolve("q8.gguf");
        GgufExport.writeModel(MODEL, null, GgmlType.F32, base);
        GgufExport.writeModel(MODEL, a, GgmlType.F32, merged);
        GgufExport.Written w = GgufExport.writeModel(MODEL, null, GgmlType.Q8_0, q8);
        // 2-D weights in Q8_0 except the 5 ffn_down (rows of 172, not a multiple of 32: F16); norms F32
        assertEquals(java.util.Map.of(GgmlType.Q8_0, 31, GgmlType.F16, 5, GgmlType.F32, 11), w.tensorTypes());
        try (GgufFile g = GgufFile.open(base);
                GgufFile m = GgufFile.open(merged);
                ShardedCheckpoint hf = ShardedCheckpoint.open(MODEL)) {
            assertEquals(47, g.tensors().size());
            assertFalse(g.tensors().containsKey("output.weight"), "tied embeddings: llama.cpp reuses token_embd");
            assertEquals(64L, g.metadata().get("llama.embedding_length"));
            assertEquals(5L, g.metadata().get("llama.block_count"));
            assertEquals(172L, g.metadata().get("llama.feed_forward_length"));
            assertEquals(8L, g.metadata().get("llama.attention.head_count"));
            assertEquals(4L, g.metadata().get("llama.attention.head_count_kv"));
            assertEquals(8L, g.metadata().get("llama.rope.dimension_count"));
            assertEquals(1e-5f, (Float) g.metadata().get("llama.attention.layer_norm_rms_epsilon"), 0f);
            assertEquals(10000f, (Float) g.metadata().get("llama.rope.freq_base"), 0f);
            assertEquals(1L, g.metadata().get("tokenizer.ggml.bos_token_id"));
            assertEquals(2L, g.metadata().get("tokenizer.ggml.eos_token_id"));
            assertEquals(true, g.metadata().get("tokenizer.ggml.add_bos_token"));
            assertEquals(false, g.metadata().get("tokenizer.ggml.add_eos_token"));
            assertArrayEquals(
                    new long[] {64, 512}, g.tensors().get("token_embd.weight").ne());
            assertArrayEquals(hf.readFloats("model.embed_tokens.weight"), g.readFloats("token_embd.weight"));
            assertArrayEquals(
                    GgufExport.interleaveHeads(hf.readFloats("model.layers.2.self_attn.q_proj.weight"), 8, 64),
                    g.readFloats("blk.2.attn_q.weight"));
            assertArrayEquals(
                    GgufExport.interleaveHeads(hf.readFloats("model.layers.2.self_attn.k_proj.weight"), 4, 64),
                    g.readFloats("blk.2.attn_k.weight"));
            assertArrayEquals(
                    hf.readFloats("model.layers.4.mlp.down_proj.weight"), g.readFloats("blk.4.ffn_down.weight"));
            // merged: W + (alpha / r) B A, in double here
            AdapterLayout.Tensor ta = a.layout().find(3, TargetModule.V, true),
                    tb = a.layout().find(3, TargetModule.V, false);
            float[] w0 = hf.readFloats("model.layers.3.self_attn.v_proj.weight");
            float[] got = m.readFloats("blk.3.attn_v.weight");
            for (int i = 0; i < 32; i++) {
                for (int j = 0; j < 64; j++) {
                    double s = 0;
                    for (int k = 0; k < 4; k++) {
                        s += (double) a.params()[tb.offset() + i * 4 + k] * a.params()[ta.offset() + k * 64 + j];
                    }
                    assertEquals(
                            (float) (w0[i * 64 + j] + 2.0 * s), got[i * 64 + j], 0f, "merged v[" + i + "," + j + "]");
                }
            }
            assertArrayEquals(
                    g.readFloats("blk.3.attn_output.weight"),
                    m.readFloats("blk.3.attn_output.weight"),
                    "a module the adapter does not target is the base's");
        }
    }

    @Test
    void pissaAdaptersAreRefused() {
        ModelConfig cfg = LlamaLoader.config(MODEL);
        LoraConfig lc = LoraConfig.of(4, 8, List.of("q_proj")).withInit("pissa");
        AdapterLayout layout = PeftAdapter.layoutFor(cfg, lc);
        PeftAdapter.Loaded a = new PeftAdapter.Loaded(lc, layout, new float[layout.size()], "x");
        BadInputException e = assertThrows(
                BadInputException.class,
                () -> GgufExport.writeAdapter(a, cfg, GgmlType.F32, dir.resolve("p.gguf"), "x"));
        assertTrue(e.getMessage().contains("pissa") && e.getMessage().contains("Fix:"), e.getMessage());
    }
}
