package io.lakelora.quant.io;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.lakelora.error.BadInputException;
import io.lakelora.quant.QuantFixture;
import io.lakelora.quant.QuantType;
import io.lakelora.quant.QuantizedMatrix;
import io.lakelora.quant.Quantizer;
import io.lakelora.safetensors.DType;
import io.lakelora.safetensors.SafetensorsFile;
import io.lakelora.safetensors.SafetensorsWriter;
import io.lakelora.safetensors.ShardedCheckpoint;
import io.lakelora.safetensors.TensorInfo;
import io.lakelora.util.Assets;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@link QuantizedCheckpoint}: the saved tensors are exactly those the reference ({@code quant_reference.py}, with
 * bitsandbytes' {@code pack_dict_to_tensor} / {@code QuantState.as_dict(packed=True)} names) expects; loading gives
 * back the same matrices; a real model (stories260K) round-trips.
 */
class QuantizedCheckpointTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path tmp;

    /** Writes the reference's tiny model (tensors in their own dtype) plus config.json and a tokenizer file. */
    private static Path writeTinyModel(JsonNode model, Path dir) throws IOException {
        Files.createDirectories(dir);
        SafetensorsWriter w = new SafetensorsWriter(dir.resolve("model.safetensors")).metadata("format", "pt");
        for (Iterator<Map.Entry<String, JsonNode>> it = model.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            w.add(
                    e.getKey(),
                    DType.parse(e.getValue().get("dtype").asText()),
                    shape(e.getValue()),
                    QuantFixture.bytes(e.getValue().get("data")));
        }
        w.write();
        Files.writeString(
                dir.resolve("config.json"),
                "{\"architectures\": [\"LlamaForCausalLM\"], \"model_type\": \"llama\", \"hidden_size\": 8}\n");
        Files.writeString(dir.resolve("tokenizer.json"), "{\"version\": \"1.0\"}");
        return dir;
    }

    private static long[] shape(JsonNode t) {
        JsonNode s = t.get("shape");
        long[] out = new long[s.size()];
        for (int i = 0; i < out.length; i++) out[i] = s.get(i).asLong();
        return out;
    }

    @TestFactory
    List<DynamicTest> savedTensorsMatchReferenceLayout() throws IOException {
        JsonNode layout = QuantFixture.load().get("layout");
        Path modelDir = writeTinyModel(layout.get("model"), tmp.resolve("tiny"));
        List<DynamicTest> tests = new ArrayList<>();
        for (JsonNode v : layout.get("variants")) {
            String name = v.get("quant").asText() + " bs" + v.get("blocksize").asInt()
                    + (v.get("double_quant").asBoolean() ? " dq" : "");
            tests.add(DynamicTest.dynamicTest(name, () -> checkVariant(modelDir, v, name)));
        }
        assertEquals(3, tests.size());
        return tests;
    }

    private void checkVariant(Path modelDir, JsonNode v, String name) throws IOException {
        QuantType type = QuantType.parse(v.get("quant").asText());
        Quantizer quantizer = new Quantizer(
                type, v.get("blocksize").asInt(), v.get("double_quant").asBoolean());
        Path out = tmp.resolve("out-" + name.replace(' ', '-'));
        QuantizedCheckpoint.Summary s = QuantizedCheckpoint.save(modelDir, out, quantizer);
        assertEquals(3, s.linearTensors(), name);
        assertEquals(5, s.keptTensors(), name);
        assertEquals(8 * 8 + 9 * 7 + 8 * 20, s.linearParams());

        JsonNode expected = v.get("tensors");
        TreeSet<String> expectedNames = new TreeSet<>();
        expected.fieldNames().forEachRemaining(n -> {
            if (!n.contains("#")) expectedNames.add(n);
        });
        try (SafetensorsFile f = SafetensorsFile.open(out.resolve("model.safetensors"))) {
            assertEquals(expectedNames, new TreeSet<>(f.tensors().keySet()), name + ": tensor names");
            assertEquals("pt", f.metadata().get("format"));
            for (String t : expectedNames) {
                JsonNode e = expected.get(t);
                TensorInfo info = f.info(t);
                assertEquals(e.get("dtype").asText(), info.dtype().name(), name + " " + t + " dtype");
                assertArrayEquals(shape(e), info.shape(), name + " " + t + " shape");
                byte[] want = QuantFixture.bytes(e.get("data"));
                byte[] got = f.readBytes(t);
                if (t.contains(BnbLayout.QUANT_STATE)) {
                    assertEquals(
                            new String(want, StandardCharsets.UTF_8),
                            new String(got, StandardCharsets.UTF_8),
                            name + " " + t);
                }
                assertArrayEquals(want, got, name + " " + t + " bytes");
            }
        }
        JsonNode qc = JSON.readTree(out.resolve("config.json").toFile()).get("quantization_config");
        assertEquals("bitsandbytes", qc.get("quant_method").asText());
        assertEquals(type != QuantType.INT8, qc.get("load_in_4bit").asBoolean());
        assertEquals(type == QuantType.INT8, qc.get("load_in_8bit").asBoolean());
        assertEquals(
                quantizer.doubleQuant(), qc.get("bnb_4bit_use_double_quant").asBoolean());
        if (type != QuantType.INT8)
            assertEquals(type.id(), qc.get("bnb_4bit_quant_type").asText());
        assertEquals("float32", qc.get("bnb_4bit_compute_dtype").asText());
        assertEquals("{\"version\": \"1.0\"}", Files.readString(out.resolve("tokenizer.json")));

        try (QuantizedCheckpoint ck = QuantizedCheckpoint.open(out)) {
            assertEquals(
                    List.of(
                            "model.layers.0.self_attn.q_proj.weight",
                            "model.layers.0.mlp.up_proj.weight",
                            "model.layers.0.mlp.down_proj.weight"),
                    List.copyOf(ck.quantizedWeights().keySet()));
            for (String w : ck.quantizedWeights().keySet()) {
                QuantizedMatrix q = ck.load(w);
                assertEquals(type, q.type());
                if (type == QuantType.INT8) {
                    assertArrayEquals(QuantFixture.bytes(expected.get(w).get("data")), q.packedData());
                } else {
                    assertArrayEquals(
                            QuantFixture.floats(expected.get(w + "#dequant")),
                            q.dequantize(),
                            name + " " + w + " dequantized after reload");
                }
            }
            assertArrayEquals(
                    QuantFixture.floats(
                            layout.get("model").get("model.norm.weight").get("data")),
                    ck.readFloats("model.norm.weight"));
        }
    }

    private static JsonNode layout;

    static {
        layout = QuantFixture.load().get("layout");
    }

    @Test
    void stories260KRoundTripsLayerByLayer() throws IOException {
        Path model = Assets.require("models/stories260K-hf");
        Path out = tmp.resolve("stories-nf4");
        QuantizedCheckpoint.Summary s = QuantizedCheckpoint.save(model, out, Quantizer.qlora());

        try (ShardedCheckpoint src = ShardedCheckpoint.open(model);
                QuantizedCheckpoint ck = QuantizedCheckpoint.open(out)) {
            // expected storage from the source shapes: 4 bits + one byte per 64-block + one fp32 per 256 blocks
            long params = 0;
            long bits = 0;
            int linears = 0;
            for (Map.Entry<String, TensorInfo> e : src.tensors().entrySet()) {
                if (!QuantizedCheckpoint.isQuantizedLinear(
                        e.getKey(), e.getValue().shape())) continue;
                long n = e.getValue().numel();
                long blocks = (n + 63) / 64;
                params += n;
                bits += 4 * n + 8 * blocks + 32 * ((blocks + 255) / 256);
                linears++;
            }
            assertEquals(35, linears); // 5 layers x (q, k, v, o, gate, up, down)
            assertEquals(35, s.linearTensors());
            assertEquals(47 - 35, s.keptTensors());
            assertEquals(params, s.linearParams());
            assertEquals((double) bits / params, s.bitsPerParam(), 1e-12);
            assertTrue(s.bitsPerParam() < 4.2, "bits/param " + s.bitsPerParam());

            assertEquals(35, ck.quantizedWeights().size());
            Quantizer quantizer = Quantizer.qlora();
            for (String w : ck.quantizedWeights().keySet()) {
                TensorInfo info = src.info(w);
                float[] fp32 = src.readFloats(w);
                QuantizedMatrix direct = quantizer.quantize(fp32, (int) info.dim(0), (int) info.dim(1));
                QuantizedMatrix loaded = ck.load(w);
                assertArrayEquals(direct.packedData(), loaded.packedData(), w);
                assertArrayEquals(direct.absmaxCodeData(), loaded.absmaxCodeData(), w);
                assertArrayEquals(direct.nestedAbsmaxData(), loaded.nestedAbsmaxData(), w);
                assertEquals(direct.nestedOffset(), loaded.nestedOffset(), 0f, w);
                // NF4 error bound: half the largest gap between adjacent codes ((1 - 0.6962) / 2 < 0.1520) times the
                // block's true absmax, plus what double quantization moved that absmax
                float[] deq = loaded.dequantize();
                for (int i = 0; i < deq.length; i++) {
                    int b = i / 64;
                    float amax = 0f;
                    for (int j = b * 64; j < Math.min(fp32.length, b * 64 + 64); j++) {
                        amax = Math.max(amax, Math.abs(fp32[j]));
                    }
                    float bound = 0.1520f * amax + Math.abs(loaded.blockAbsmax(b) - amax) + 1e-7f;
                    assertTrue(
                            Math.abs(deq[i] - fp32[i]) <= bound,
                            w + "[" + i + "]: " + fp32[i] + " -> " + deq[i] + " (absmax " + amax + ")");
                }
            }
            for (String kept : List.of(
                    "model.embed_tokens.weight",
                    "model.norm.weight",
                    "model.layers.4.post_attention_layernorm.weight")) {
                assertArrayEquals(src.readFloats(kept), ck.readFloats(kept), kept);
            }
        }
        assertTrue(Files.isRegularFile(out.resolve("tokenizer.json")));
        assertTrue(Files.isRegularFile(out.resolve("generation_config.json")));
    }

    @Test
    void shardedOutputLoadsLikeSingleFile() throws IOException {
        Path model = writeTinyModel(layout.get("model"), tmp.resolve("tiny-sharded"));
        Path single = tmp.resolve("single");
        Path sharded = tmp.resolve("sharded");
        QuantizedCheckpoint.save(model, single, Quantizer.qlora());
        // 600-byte shards split a linear's tensors over several files
        QuantizedCheckpoint.Summary s = QuantizedCheckpoint.save(model, sharded, Quantizer.qlora(), 600);
        assertTrue(s.files().size() > 3, "files " + s.files());
        assertTrue(Files.isRegularFile(sharded.resolve("model.safetensors.index.json")));
        try (QuantizedCheckpoint a = QuantizedCheckpoint.open(single);
                QuantizedCheckpoint b = QuantizedCheckpoint.open(sharded)) {
            assertEquals(a.quantizedWeights(), b.quantizedWeights());
            for (String w : a.quantizedWeights().keySet()) {
                assertArrayEquals(a.load(w).dequantize(), b.load(w).dequantize(), w);
            }
        }
    }

    @Test
    void rejectsBadInputs() throws IOException {
        Path noConfig = Files.createDirectories(tmp.resolve("empty"));
        BadInputException e = assertThrows(
                BadInputException.class,
                () -> QuantizedCheckpoint.save(noConfig, tmp.resolve("o1"), Quantizer.qlora()));
        assertTrue(e.getMessage().contains("config.json"), e.getMessage());

        Path model = writeTinyModel(layout.get("model"), tmp.resolve("tiny2"));
        assertThrows(IllegalArgumentException.class, () -> QuantizedCheckpoint.save(model, model, Quantizer.qlora()));
        e = assertThrows(BadInputException.class, () -> QuantizedCheckpoint.open(model));
        assertTrue(e.getMessage().contains("quantization_config"), e.getMessage());

        Path q = tmp.resolve("q");
        QuantizedCheckpoint.save(model, q, Quantizer.qlora());
        e = assertThrows(
                BadInputException.class, () -> QuantizedCheckpoint.save(q, tmp.resolve("o2"), Quantizer.qlora()));
        assertTrue(e.getMessage().contains("already quantized"), e.getMessage());
    }

    @Test
    void nonFiniteWeightIsBadInputNamingTheTensor() throws IOException {
        Path dir = Files.createDirectories(tmp.resolve("nan-model"));
        float[] w = new float[8 * 8];
        w[13] = Float.POSITIVE_INFINITY;
        new SafetensorsWriter(dir.resolve("model.safetensors"))
                .add("model.layers.0.self_attn.o_proj.weight", DType.F32, new long[] {8, 8}, w)
                .write();
        Files.writeString(dir.resolve("config.json"), "{\"model_type\": \"llama\"}");
        Path out = tmp.resolve("nan-out");
        BadInputException e =
                assertThrows(BadInputException.class, () -> QuantizedCheckpoint.save(dir, out, Quantizer.qlora()));
        assertTrue(e.getMessage().contains("model.layers.0.self_attn.o_proj.weight"), e.getMessage());
        assertTrue(e.getMessage().contains("row 1, column 5"), e.getMessage());
        assertFalse(Files.exists(out.resolve("model.safetensors")), "no partial output file");
    }

    @Test
    void inconsistentQuantStateIsBadInput() throws IOException {
        // a quantized checkpoint whose nested absmax has the wrong length
        Path q = tmp.resolve("bad");
        Path model = writeTinyModel(layout.get("model"), tmp.resolve("tiny3"));
        QuantizedCheckpoint.save(model, q, Quantizer.qlora());
        Path broken = Files.createDirectories(tmp.resolve("broken"));
        Files.copy(q.resolve("config.json"), broken.resolve("config.json"));
        String w = "model.layers.0.mlp.up_proj.weight";
        try (SafetensorsFile f = SafetensorsFile.open(q.resolve("model.safetensors"))) {
            SafetensorsWriter out = new SafetensorsWriter(broken.resolve("model.safetensors"));
            for (TensorInfo t : f.tensors().values()) {
                if (t.name().equals(w + BnbLayout.NESTED_ABSMAX)) {
                    out.add(t.name(), DType.F32, new long[] {2}, new float[] {1f, 2f});
                } else {
                    out.add(t.name(), t.dtype(), t.shape(), f.readBytes(t.name()));
                }
            }
            out.write();
        }
        try (QuantizedCheckpoint ck = QuantizedCheckpoint.open(broken)) {
            BadInputException e = assertThrows(BadInputException.class, () -> ck.load(w));
            assertTrue(e.getMessage().contains(w + BnbLayout.NESTED_ABSMAX), e.getMessage());
            assertFalse(e.getMessage().isBlank());
            ck.load("model.layers.0.self_attn.q_proj.weight"); // the intact ones still load
            assertThrows(IllegalArgumentException.class, () -> ck.load("model.norm.weight"));
        }
    }
}
