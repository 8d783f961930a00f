package io.lakelora.peft;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.lakelora.error.BadInputException;
import io.lakelora.lora.AdapterLayout;
import io.lakelora.lora.AdapterState;
import io.lakelora.lora.LoraConfig;
import io.lakelora.model.Architecture;
import io.lakelora.model.ModelConfig;
import io.lakelora.safetensors.DType;
import io.lakelora.safetensors.SafetensorsFile;
import io.lakelora.safetensors.SafetensorsWriter;
import io.lakelora.util.Rng;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class PeftAdapterTest {
    @TempDir
    Path dir;

    /** 2 layers, hidden 16, 4 heads of 4, 2 KV heads (kv dim 8), ffn 24. */
    static final ModelConfig MODEL = ModelConfig.builder(Architecture.LLAMA)
            .vocabSize(64)
            .hiddenSize(16)
            .numHeads(4)
            .numKvHeads(2)
            .intermediateSize(24)
            .numLayers(2)
            .maxPositionEmbeddings(64)
            .build();

    private static float[] random(int n, long seed) {
        Rng rng = new Rng(seed);
        float[] p = new float[n];
        for (int i = 0; i < n; i++) p[i] = (float) rng.nextGaussian();
        return p;
    }

    @Test
    void exportWritesPeftKeysShapesMetadataAndConfigAndImportsBack() throws Exception {
        LoraConfig cfg = LoraConfig.of(4, 16, List.of("all-linear")).withDropout(0.05);
        AdapterLayout layout = PeftAdapter.layoutFor(MODEL, cfg);
        float[] p = random(layout.size(), 1);
        PeftAdapter.save(dir, cfg, layout, p, "stories260K");

        try (SafetensorsFile f = SafetensorsFile.open(dir.resolve(PeftAdapter.WEIGHTS_FILE))) {
            assertEquals(java.util.Map.of("format", "pt"), f.metadata());
            assertEquals(28, f.tensors().size()); // 2 layers x 7 modules x (A, B)
            // key format of DESIGN.md / PEFT, shapes A [r, in], B [out, r]
            assertArrayEquals(
                    new long[] {4, 16},
                    f.info("base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight")
                            .shape());
            assertArrayEquals(
                    new long[] {16, 4},
                    f.info("base_model.model.model.layers.0.self_attn.q_proj.lora_B.weight")
                            .shape());
            assertArrayEquals(
                    new long[] {8, 4},
                    f.info("base_model.model.model.layers.1.self_attn.k_proj.lora_B.weight")
                            .shape());
            assertArrayEquals(
                    new long[] {4, 16},
                    f.info("base_model.model.model.layers.1.self_attn.o_proj.lora_A.weight")
                            .shape());
            assertArrayEquals(
                    new long[] {4, 24},
                    f.info("base_model.model.model.layers.1.mlp.down_proj.lora_A.weight")
                            .shape());
            assertArrayEquals(
                    new long[] {24, 4},
                    f.info("base_model.model.model.layers.0.mlp.gate_proj.lora_B.weight")
                            .shape());
            assertEquals(
                    DType.F32,
                    f.info("base_model.model.model.layers.1.mlp.up_proj.lora_B.weight")
                            .dtype());
            AdapterLayout.Tensor t = layout.find(1, io.lakelora.lora.TargetModule.V, true);
            assertArrayEquals(AdapterState.copyOf(p, t), f.readFloats(t.peftKey()));
        }

        JsonNode c =
                new ObjectMapper().readTree(dir.resolve(PeftAdapter.CONFIG_FILE).toFile());
        // every key of DESIGN.md's adapter_config.json list, with PEFT's values
        assertEquals("LORA", c.get("peft_type").asText());
        assertEquals("CAUSAL_LM", c.get("task_type").asText());
        assertEquals(4, c.get("r").asInt());
        assertTrue(c.get("lora_alpha").isIntegralNumber(), "lora_alpha written as an int like PEFT: " + c);
        assertEquals(16, c.get("lora_alpha").asInt());
        assertEquals(0.05, c.get("lora_dropout").asDouble());
        assertEquals(
                List.of("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"),
                new ObjectMapper().convertValue(c.get("target_modules"), List.class));
        assertEquals("none", c.get("bias").asText());
        assertEquals(false, c.get("fan_in_fan_out").asBoolean());
        assertEquals(false, c.get("use_rslora").asBoolean());
        assertEquals(false, c.get("use_dora").asBoolean());
        assertEquals(true, c.get("init_lora_weights").asBoolean());
        assertEquals("stories260K", c.get("base_model_name_or_path").asText());
        assertEquals(true, c.get("inference_mode").asBoolean());
        assertTrue(c.get("modules_to_save").isNull());

        PeftAdapter.Loaded back = PeftAdapter.load(dir, MODEL);
        assertArrayEquals(p, back.params());
        assertEquals(cfg.targets(), back.config().targets());
        assertEquals(cfg.scaling(), back.config().scaling());
        assertEquals("stories260K", back.baseModelNameOrPath());
    }

    /** Writes an adapter_config.json and a safetensors file with the given (key, shape) tensors. */
    private Path foreign(String name, String config, List<String> keys, List<long[]> shapes, DType dtype) {
        Path d = dir.resolve(name);
        SafetensorsWriter w = new SafetensorsWriter(d.resolve(PeftAdapter.WEIGHTS_FILE)).metadata("format", "pt");
        for (int i = 0; i < keys.size(); i++) {
            long[] s = shapes.get(i);
            w.add(keys.get(i), dtype, s, random((int) (s[0] * s[1]), i));
        }
        w.write();
        try {
            Files.writeString(d.resolve(PeftAdapter.CONFIG_FILE), config);
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
        return d;
    }

    private static final String QV_CONFIG = "{\"peft_type\": \"LORA\", \"r\": 2, \"lora_alpha\": 4, "
            + "\"target_modules\": [\"v_proj\", \"q_proj\"], \"bias\": \"none\", \"base_model_name_or_path\": \"m\"}";

    private static List<String> qvKeys(String prefix, String suffix) {
        List<String> k = new ArrayList<>();
        for (int l = 0; l < 2; l++) {
            for (String m : List.of("q_proj", "v_proj")) {
                for (String ab : List.of("A", "B"))
                    k.add(prefix + "model.layers." + l + ".self_attn." + m + ".lora_" + ab + suffix);
            }
        }
        return k;
    }

    private static List<long[]> qvShapes(int hidden, int r) {
        List<long[]> s = new ArrayList<>();
        for (int l = 0; l < 2; l++) {
            s.add(new long[] {r, hidden}); // q A
            s.add(new long[] {hidden, r}); // q B
            s.add(new long[] {r, hidden}); // v A
            s.add(new long[] {8, r}); // v B (kv dim 8)
        }
        return s;
    }

    @Test
    void importsKeysWithAdapterNamesWithoutWeightSuffixOrPrefixAndHalfPrecision() {
        for (String[] variant : new String[][] {
            {"base_model.model.", ".default.weight"},
            {"base_model.model.", ""},
            {"", ".weight"},
            {"base_model.model.", ".my-adapter"}
        }) {
            Path d = foreign(
                    "v" + variant[0].length() + variant[1].replace('.', '_'),
                    QV_CONFIG,
                    qvKeys(variant[0], variant[1]),
                    qvShapes(16, 2),
                    DType.BF16);
            PeftAdapter.Loaded a = PeftAdapter.load(d, MODEL);
            assertEquals(
                    new TreeSet<>(List.of("q_proj", "v_proj")),
                    new TreeSet<>(a.config().targetModules()));
            assertEquals(2.0, a.config().scaling());
            try (SafetensorsFile f = SafetensorsFile.open(d.resolve(PeftAdapter.WEIGHTS_FILE))) {
                String key = variant[0] + "model.layers.1.self_attn.v_proj.lora_B" + variant[1];
                AdapterLayout.Tensor t = a.layout().find(1, io.lakelora.lora.TargetModule.V, false);
                assertArrayEquals(f.readFloats(key), AdapterState.copyOf(a.params(), t), String.join("", variant));
            }
        }
    }

    private String importError(Path d, ModelConfig model) {
        return assertThrows(RuntimeException.class, () -> PeftAdapter.load(d, model))
                .getMessage();
    }

    @Test
    void adaptersForAnotherModelOrWithUnknownTensorsAreErrorsNamingTheKey() {
        // hidden 32 instead of 16: an adapter for another model
        Path other = foreign("other", QV_CONFIG, qvKeys("base_model.model.", ".weight"), qvShapes(32, 2), DType.F32);
        String m = importError(other, MODEL);
        assertTrue(
                m.contains("'base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight' has shape [2, 32]")
                        && m.contains("the model needs [2, 16]")
                        && m.contains("another model"),
                m);

        ModelConfig oneLayer = ModelConfig.builder(Architecture.LLAMA)
                .vocabSize(64)
                .hiddenSize(16)
                .numHeads(4)
                .numKvHeads(2)
                .intermediateSize(24)
                .numLayers(1)
                .maxPositionEmbeddings(64)
                .build();
        m = importError(
                foreign("deep", QV_CONFIG, qvKeys("base_model.model.", ".weight"), qvShapes(16, 2), DType.F32),
                oneLayer);
        assertTrue(m.contains("is for layer 1, but the model has 1 layers"), m);

        List<String> keys = new ArrayList<>(qvKeys("base_model.model.", ".weight"));
        List<long[]> shapes = new ArrayList<>(qvShapes(16, 2));
        keys.add("base_model.model.lm_head.weight");
        shapes.add(new long[] {64, 16});
        m = importError(foreign("extra", QV_CONFIG, keys, shapes, DType.F32), MODEL);
        assertTrue(m.contains("'base_model.model.lm_head.weight' is not the lora_A/lora_B"), m);

        m = importError(
                foreign(
                        "gpt2",
                        QV_CONFIG,
                        List.of("base_model.model.model.layers.0.attn.c_attn.lora_A.weight"),
                        List.<long[]>of(new long[] {2, 16}),
                        DType.F32),
                MODEL);
        assertTrue(m.contains("c_attn.lora_A.weight' is not the lora_A/lora_B"), m);

        keys = new ArrayList<>(qvKeys("base_model.model.", ".weight"));
        shapes = new ArrayList<>(qvShapes(16, 2));
        keys.remove(5); // layer 1 q_proj lora_B
        shapes.remove(5);
        m = importError(foreign("partial", QV_CONFIG, keys, shapes, DType.F32), MODEL);
        assertTrue(m.contains("no tensor 'base_model.model.model.layers.1.self_attn.q_proj.lora_B.weight'"), m);

        m = importError(foreign("empty", QV_CONFIG, List.of(), List.of(), DType.F32), MODEL);
        assertTrue(m.contains("has no tensors"), m);

        m = importError(
                foreign(
                        "dora",
                        QV_CONFIG.replace("}", ", \"use_dora\": true}"),
                        qvKeys("base_model.model.", ".weight"),
                        qvShapes(16, 2),
                        DType.F32),
                MODEL);
        assertTrue(m.contains("DoRA"), m);

        Path none = dir.resolve("nothing");
        assertTrue(assertThrows(BadInputException.class, () -> PeftAdapter.load(none, MODEL))
                .getMessage()
                .contains("needs adapter_config.json and adapter_model.safetensors"));
    }
}
