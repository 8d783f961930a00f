package io.lakelora.peft;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.lakelora.lora.AdapterLayout;
import io.lakelora.lora.LoraConfig;
import io.lakelora.lora.TargetModule;
import io.lakelora.model.Architecture;
import io.lakelora.model.ModelConfig;
import io.lakelora.model.ModelDir;
import io.lakelora.safetensors.DType;
import io.lakelora.safetensors.SafetensorsFile;
import io.lakelora.safetensors.SafetensorsWriter;
import io.lakelora.util.Assets;
import io.lakelora.util.Rng;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class PeftMergeTest {
    @TempDir
    Path dir;

    static final ModelConfig MODEL = ModelConfig.builder(Architecture.LLAMA)
            .vocabSize(512)
            .hiddenSize(16)
            .numHeads(4)
            .numKvHeads(2)
            .intermediateSize(24)
            .numLayers(2)
            .maxPositionEmbeddings(64)
            .torchDtype("bfloat16")
            .build();

    private static float[] random(long n, Rng rng) {
        float[] p = new float[(int) n];
        for (int i = 0; i < p.length; i++) p[i] = (float) (0.1 * rng.nextGaussian());
        return p;
    }

    /** A random LLaMA checkpoint in HF layout (BF16 weights, as most published models). */
    static Map<String, float[]> writeModel(Path d) throws Exception {
        Files.createDirectories(d);
        Files.writeString(d.resolve("config.json"), MODEL.toJson());
        Files.copy(Assets.require("models/stories260K-hf/tokenizer.json"), d.resolve("tokenizer.json"));
        Files.copy(Assets.require("models/stories260K-hf/tokenizer_config.json"), d.resolve("tokenizer_config.json"));
        Map<String, long[]> shapes = new LinkedHashMap<>();
        shapes.put("model.embed_tokens.weight", new long[] {512, 16});
        for (int l = 0; l < 2; l++) {
            for (TargetModule m : TargetModule.values()) {
                shapes.put(m.modulePath(l) + ".weight", new long[] {
                    AdapterLayout.outFeatures(m, 16, 16, 8, 24), AdapterLayout.inFeatures(m, 16, 16, 24)
                });
            }
            shapes.put("model.layers." + l + ".input_layernorm.weight", new long[] {16});
            shapes.put("model.layers." + l + ".post_attention_layernorm.weight", new long[] {16});
        }
        shapes.put("model.norm.weight", new long[] {16});
        shapes.put("lm_head.weight", new long[] {512, 16});
        Rng rng = new Rng(5);
        Map<String, float[]> values = new LinkedHashMap<>();
        SafetensorsWriter w = new SafetensorsWriter(d.resolve("model.safetensors")).metadata("format", "pt");
        for (var e : shapes.entrySet()) {
            long n = 1;
            for (long s : e.getValue()) n *= s;
            float[] v = random(n, rng);
            w.add(e.getKey(), DType.BF16, e.getValue(), v);
            values.put(e.getKey(), v);
        }
        w.write();
        return values;
    }

    @Test
    void mergedWeightsAreWPlusScalingBAAndEverythingElseIsCopied() throws Exception {
        Path base = dir.resolve("base");
        writeModel(base);
        LoraConfig cfg = LoraConfig.of(4, 8, List.of("q_proj", "down_proj")); // scaling 2
        AdapterLayout layout = PeftAdapter.layoutFor(MODEL, cfg);
        float[] p = random(layout.size(), new Rng(9));
        Path out = dir.resolve("merged");
        PeftMerge.merge(base, cfg, layout, p, out, DType.F32);

        ModelDir merged = ModelDir.open(out); // a valid HF model directory
        assertEquals(
                "float32",
                new ObjectMapper()
                        .readTree(out.resolve("config.json").toFile())
                        .get("torch_dtype")
                        .asText());
        assertTrue(Files.isRegularFile(out.resolve("tokenizer_config.json")));
        try (SafetensorsFile src = SafetensorsFile.open(base.resolve("model.safetensors"));
                SafetensorsFile dst = SafetensorsFile.open(merged.weightsEntry())) {
            assertEquals(src.tensors().keySet(), dst.tensors().keySet());
            for (String name : src.tensors().keySet()) {
                assertEquals(DType.F32, dst.info(name).dtype());
                float[] w = src.readFloats(name);
                float[] m = dst.readFloats(name);
                boolean adapted = name.endsWith("q_proj.weight") || name.endsWith("down_proj.weight");
                if (!adapted) {
                    assertArrayEquals(w, m, 0f, name);
                    continue;
                }
                int layer = Integer.parseInt(name.split("\\.")[2]);
                TargetModule mod = name.contains("q_proj") ? TargetModule.Q : TargetModule.DOWN;
                AdapterLayout.Tensor a = layout.find(layer, mod, true);
                AdapterLayout.Tensor b = layout.find(layer, mod, false);
                int out_ = b.rows(), in = a.cols(), r = 4;
                for (int i = 0; i < out_; i++) {
                    for (int j = 0; j < in; j++) {
                        double ba = 0;
                        for (int k = 0; k < r; k++)
                            ba += (double) p[b.offset() + i * r + k] * p[a.offset() + k * in + j];
                        assertEquals(w[i * in + j] + 2.0 * ba, m[i * in + j], 1e-6, name + "[" + i + "," + j + "]");
                    }
                }
            }
        }
    }

    @Test
    void refusesAQuantizedBaseAndAMismatchedAdapter() throws Exception {
        Path base = dir.resolve("base");
        writeModel(base);
        LoraConfig cfg = LoraConfig.of(4, 8, List.of("q_proj"));
        AdapterLayout wrong = new AdapterLayout(3, 16, 16, 8, 24, 4, cfg.targets());
        IllegalArgumentException e = assertThrows(
                IllegalArgumentException.class,
                () -> PeftMerge.merge(base, cfg, wrong, new float[wrong.size()], dir.resolve("o"), DType.F32));
        assertTrue(e.getMessage().contains("does not fit model"), e.getMessage());

        LoraConfig pissa = cfg.withInit("pissa");
        AdapterLayout fits = PeftAdapter.layoutFor(MODEL, pissa);
        IllegalArgumentException p = assertThrows(
                IllegalArgumentException.class,
                () -> PeftMerge.merge(base, pissa, fits, new float[fits.size()], dir.resolve("o"), DType.F32));
        assertTrue(p.getMessage().contains("trained against a rewritten base"), p.getMessage());

        String json = Files.readString(base.resolve("config.json"));
        Files.writeString(
                base.resolve("config.json"),
                json.replaceFirst("\\{", "{\"quantization_config\": {\"load_in_4bit\": true},"));
        AdapterLayout ok = PeftAdapter.layoutFor(MODEL, cfg);
        UnsupportedOperationException u = assertThrows(
                UnsupportedOperationException.class,
                () -> PeftMerge.merge(base, cfg, ok, new float[ok.size()], dir.resolve("o"), DType.F32));
        assertTrue(u.getMessage().contains("quantized checkpoint"), u.getMessage());
    }
}
