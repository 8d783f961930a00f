package io.lakelora.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lakelora.kernel.KernelProvider;
import io.lakelora.lora.TargetModule;
import io.lakelora.peft.PeftAdapter;
import io.lakelora.peft.PeftMerge;
import io.lakelora.quant.QuantType;
import io.lakelora.quant.Quantizer;
import io.lakelora.quant.io.QuantizedCheckpoint;
import io.lakelora.safetensors.DType;
import io.lakelora.safetensors.SafetensorsFile;
import io.lakelora.safetensors.SafetensorsWriter;
import io.lakelora.safetensors.TensorInfo;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Qwen3 and Gemma 3 through the files: a model directory in transformers' layout loads back to the same weights (Gemma
 * 3's stored offsets become (1 + w) multipliers), a Gemma 3 multimodal checkpoint's text decoder loads from its
 * prefixed tensors, job 00's NF4 checkpoint loads to the same model as quantizing on load, and the PyTorch fixtures'
 * PEFT adapters export, import and merge (the merged model scores as base + adapter).
 */
class ModelFamiliesIoTest {
    static final Path FIXTURES = Path.of("src/test/resources/fixtures/lora_parity");
    final int[] tokens = new SplittableRandom(31).ints(14, 0, 64).toArray();

    static ModelConfig tiny(String family) {
        return family.equals("qwen3")
                ? TestConfigs.qwen3(64, 32, 48, 2, 4, 2, 16, false)
                : TestConfigs.gemma3(64, 32, 48, 3, 2, 1, 16, 24.0, 3);
    }

    static double score(LlamaWeights w, LoraAdapter adapter, int[] tokens) {
        return new LlamaSession(w, KernelProvider.withThreads(1), adapter, 64, 16).score(tokens)[0];
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"qwen3", "gemma3"})
    void hfDirectoryRoundTripsAndNf4CheckpointLoadsAsQuantizingOnLoad(String family, @TempDir Path dir) {
        ModelConfig cfg = tiny(family);
        LlamaWeights w = LlamaWeights.random(cfg, 41, 0.2f, null);
        Path hf = TinyModelDirs.write(dir.resolve("hf"), w);
        assertEquals(cfg, LlamaLoader.config(hf));
        LlamaWeights back = LlamaLoader.load(hf, null);
        assertArrayEquals(w.embedding(), back.embedding());
        assertArrayEquals(w.finalNorm(), back.finalNorm());
        for (int l = 0; l < cfg.numLayers(); l++) {
            LayerWeights a = w.layer(l), b = back.layer(l);
            assertArrayEquals(a.attnNorm(), b.attnNorm());
            assertArrayEquals(a.mlpNorm(), b.mlpNorm());
            assertArrayEquals(a.qNorm(), b.qNorm());
            assertArrayEquals(a.kNorm(), b.kNorm());
            assertArrayEquals(a.postAttnNorm(), b.postAttnNorm());
            assertArrayEquals(a.postMlpNorm(), b.postMlpNorm());
            for (TargetModule m : TargetModule.values()) {
                assertArrayEquals(a.linear(m).weightFp32(), b.linear(m).weightFp32(), m.peftName());
            }
        }
        if (family.equals("gemma3")) {
            // the file holds Gemma3RMSNorm's offsets: the multiplier minus one
            try (SafetensorsFile f = SafetensorsFile.open(hf.resolve("model.safetensors"))) {
                assertEquals(w.layer(1).qNorm()[3] - 1f, f.readFloats("model.layers.1.self_attn.q_norm.weight")[3]);
            }
        }
        // job 00's checkpoint (NF4 + double quant, q/k and sandwich norms kept in fp32) = quantizing on load
        Quantizer qlora = Quantizer.qlora();
        Path nf4 = dir.resolve("nf4");
        QuantizedCheckpoint.save(hf, nf4, qlora);
        assertEquals(QuantType.NF4, LlamaLoader.storedQuantization(nf4));
        LlamaWeights stored = LlamaLoader.load(nf4, null);
        LlamaWeights onLoad = LlamaLoader.load(hf, qlora::quantize);
        assertTrue(stored.layer(0).q().isQuantized());
        assertArrayEquals(onLoad.layer(1).kNorm(), stored.layer(1).kNorm());
        assertEquals(score(onLoad, null, tokens), score(stored, null, tokens));
        double fp = score(back, null, tokens);
        double q = score(stored, null, tokens);
        assertTrue(Math.abs(q - fp) < 0.05 * fp && q != fp, family + ": fp32 " + fp + " nf4 " + q);
    }

    @org.junit.jupiter.api.Test
    void gemma3MultimodalCheckpointLoadsItsTextDecoder(@TempDir Path dir) throws Exception {
        ModelConfig cfg = tiny("gemma3");
        Path hf = TinyModelDirs.random(dir.resolve("hf"), cfg, 43, 0.2f);
        // the same weights as transformers 4.50 saves Gemma3ForConditionalGeneration, with a vision tensor beside
        Path mm = Files.createDirectories(dir.resolve("mm"));
        // a sparse text_config as the Hub's: the token ids at the top level
        com.fasterxml.jackson.databind.node.ObjectNode text = (com.fasterxml.jackson.databind.node.ObjectNode)
                new com.fasterxml.jackson.databind.ObjectMapper().readTree(cfg.toJson());
        text.remove("eos_token_id");
        String textConfig = text.toString();
        Files.writeString(
                mm.resolve("config.json"),
                "{\"architectures\":[\"Gemma3ForConditionalGeneration\"],\"model_type\":\"gemma3\","
                        + "\"eos_token_id\":[1,106],\"text_config\":" + textConfig + ",\"vision_config\":{}}");
        SafetensorsWriter out = new SafetensorsWriter(mm.resolve("model.safetensors"));
        try (SafetensorsFile f = SafetensorsFile.open(hf.resolve("model.safetensors"))) {
            for (Map.Entry<String, TensorInfo> e : f.tensors().entrySet()) {
                out.add("language_model." + e.getKey(), DType.F32, e.getValue().shape(), f.readFloats(e.getKey()));
            }
        }
        out.add("vision_tower.vision_model.post_layernorm.weight", DType.F32, new long[] {4}, new float[4]);
        out.write();
        ModelConfig mmCfg = LlamaLoader.config(mm);
        assertEquals(Architecture.GEMMA3, mmCfg.architecture());
        assertArrayEquals(new int[] {1, 106}, mmCfg.eosTokenIds());
        assertEquals(score(LlamaLoader.load(hf, null), null, tokens), score(LlamaLoader.load(mm, null), null, tokens));
    }

    /**
     * An adapter PEFT saved on Gemma3ForConditionalGeneration names the decoder's modules under the language model
     * (transformers 4.50: {@code language_model.model.layers}, 4.52+: {@code model.language_model.layers}): it imports
     * to the same slab as the causal LM's names; a LoRA on the vision tower is refused.
     */
    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"language_model.model.layers.", "model.language_model.layers."})
    void gemma3MultimodalPeftNamesImport(String prefix, @TempDir Path dir) throws Exception {
        Path fx = FIXTURES.resolve("gemma3_sliding");
        ModelConfig cfg = LlamaLoader.config(fx);
        PeftAdapter.Loaded plain = PeftAdapter.load(fx.resolve("adapter"), cfg);
        Path mm = Files.createDirectories(dir.resolve("mm"));
        Files.copy(fx.resolve("adapter/adapter_config.json"), mm.resolve("adapter_config.json"));
        SafetensorsWriter out = new SafetensorsWriter(mm.resolve(PeftAdapter.WEIGHTS_FILE));
        try (SafetensorsFile f = SafetensorsFile.open(fx.resolve("adapter/adapter_model.safetensors"))) {
            for (Map.Entry<String, TensorInfo> e : f.tensors().entrySet()) {
                String renamed = e.getKey().replace("base_model.model.model.layers.", "base_model.model." + prefix);
                out.add(renamed, DType.F32, e.getValue().shape(), f.readFloats(e.getKey()));
            }
        }
        out.write();
        PeftAdapter.Loaded mmLoaded = PeftAdapter.load(mm, cfg);
        assertArrayEquals(plain.params(), mmLoaded.params());
        SafetensorsWriter vision = new SafetensorsWriter(mm.resolve(PeftAdapter.WEIGHTS_FILE));
        vision.add(
                "base_model.model.vision_tower.vision_model.encoder.layers.0.self_attn.q_proj.lora_A.weight",
                DType.F32,
                new long[] {4, 8},
                new float[32]);
        vision.write();
        io.lakelora.error.BadInputException e = org.junit.jupiter.api.Assertions.assertThrows(
                io.lakelora.error.BadInputException.class, () -> PeftAdapter.load(mm, cfg));
        assertTrue(e.getMessage().contains("vision_tower"), e.getMessage());
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"qwen3_tied_packed", "gemma3_sliding"})
    void peftExportImportAndMergeOfTheTorchFixture(String name, @TempDir Path dir) {
        Path base = dir.resolve("base"); // the fixture with a tokenizer (a model directory needs one)
        try {
            Files.createDirectories(base);
            for (String f : new String[] {"config.json", "model.safetensors"}) {
                Files.copy(FIXTURES.resolve(name).resolve(f), base.resolve(f));
            }
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
        TinyModelDirs.withStoriesTokenizer(base);
        ModelConfig cfg = LlamaLoader.config(base);
        PeftAdapter.Loaded a = PeftAdapter.load(FIXTURES.resolve(name).resolve("adapter"), cfg);
        // export: PEFT's names (base_model.model.model.layers.N.self_attn.q_proj.lora_A.weight), imported unchanged
        Path out = dir.resolve("peft");
        try {
            Files.createDirectories(out);
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
        PeftAdapter.save(out, a.config(), a.layout(), a.params(), name);
        try (SafetensorsFile f = SafetensorsFile.open(out.resolve(PeftAdapter.WEIGHTS_FILE))) {
            assertTrue(f.tensors().containsKey("base_model.model.model.layers.1.self_attn.k_proj.lora_A.weight"));
        }
        PeftAdapter.Loaded again = PeftAdapter.load(out, cfg);
        assertArrayEquals(a.params(), again.params());
        assertEquals(a.config().targets(), again.config().targets());
        // merged into the base (norm tensors copied as stored): scores as base + adapter
        LlamaWeights w = LlamaLoader.load(base, null);
        LoraAdapter adapter = new LoraAdapter(LoraSpec.of(a.config()), a.layout(), a.params());
        Path merged = dir.resolve("merged");
        PeftMerge.merge(base, a.config(), a.layout(), a.params(), merged, DType.F32);
        double withAdapter = score(w, adapter, tokens);
        double mergedScore = score(LlamaLoader.load(merged, null), null, tokens);
        double plain = score(w, null, tokens);
        System.out.printf("%s: base %.6f, base + adapter %.6f, merged %.6f%n", name, plain, withAdapter, mergedScore);
        assertEquals(withAdapter, mergedScore, 1e-4 * Math.abs(withAdapter));
        assertTrue(Math.abs(withAdapter - plain) > 1e-3, "the adapter changed nothing");
    }
}
