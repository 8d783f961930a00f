package io.lakelora.safetensors;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.core.json.JsonReadFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import io.lakelora.util.Assets;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Reader and writer against all_dtypes.safetensors, written by an independent Python writer
 * (fixtures/safetensors/make_fixture.py: struct + json, numpy F16 and torch BF16 rounding), and against the real
 * stories260K checkpoint cross-checked with its llama2.c .bin.
 */
class SafetensorsTest {
    private static final ObjectMapper JSON = JsonMapper.builder()
            .enable(JsonReadFeature.ALLOW_NON_NUMERIC_NUMBERS)
            .build();

    static Path fixture(String name) throws Exception {
        return Path.of(SafetensorsTest.class
                .getResource("/fixtures/safetensors/" + name)
                .toURI());
    }

    private static long[] shape(JsonNode n) {
        long[] s = new long[n.size()];
        for (int i = 0; i < s.length; i++) s[i] = n.get(i).longValue();
        return s;
    }

    @Test
    void readsTheIndependentlyWrittenFixture() throws Exception {
        JsonNode exp =
                JSON.readTree(fixture("all_dtypes.expected.json").toFile()).get("tensors");
        try (SafetensorsFile f = SafetensorsFile.open(fixture("all_dtypes.safetensors"))) {
            assertEquals(Map.of("format", "pt"), f.metadata());
            assertEquals(exp.size(), f.tensors().size());
            for (JsonNode e : exp) {
                String name = e.get("name").textValue();
                TensorInfo t = f.info(name);
                assertEquals(DType.parse(e.get("dtype").textValue()), t.dtype(), name);
                assertArrayEquals(shape(e.get("shape")), t.shape(), name);
                assertEquals(e.get("hex").textValue(), HexFormat.of().formatHex(f.readBytes(name)), name);
                if (t.dtype().isFloat()) {
                    float[] got = f.readFloats(name);
                    JsonNode dec = e.get("decoded");
                    assertEquals(dec.size(), got.length, name);
                    for (int i = 0; i < got.length; i++) {
                        assertEquals(
                                Float.floatToIntBits((float) dec.get(i).doubleValue()),
                                Float.floatToIntBits(got[i]),
                                name + "[" + i + "] " + dec.get(i) + " vs " + got[i]);
                    }
                }
            }
            assertThrows(UnsupportedOperationException.class, () -> f.readFloats("f_i32"));
            ByteBuffer b = f.buffer("g_i64");
            assertEquals(-1L, b.getLong(0));
            assertEquals(9007199254740993L, b.getLong(8));
        }
    }

    @Test
    void writerReproducesTheIndependentFixtureByteForByte(@TempDir Path dir) throws Exception {
        JsonNode exp =
                JSON.readTree(fixture("all_dtypes.expected.json").toFile()).get("tensors");
        SafetensorsWriter w = new SafetensorsWriter(dir.resolve("out.safetensors")).metadata("format", "pt");
        for (JsonNode e : exp) {
            String name = e.get("name").textValue();
            DType dt = DType.parse(e.get("dtype").textValue());
            long[] shape = shape(e.get("shape"));
            JsonNode in = e.get("input");
            switch (dt) {
                case F32, F16, BF16 -> {
                    float[] v = new float[in.size()];
                    for (int i = 0; i < v.length; i++) v[i] = (float) in.get(i).doubleValue();
                    w.add(name, dt, shape, v); // F16/BF16 rounding must match numpy/torch
                }
                case I8, U8 -> {
                    byte[] v = new byte[in.size()];
                    for (int i = 0; i < v.length; i++) v[i] = (byte) in.get(i).intValue();
                    w.add(name, dt, shape, v);
                }
                case I32 -> {
                    int[] v = new int[in.size()];
                    for (int i = 0; i < v.length; i++) v[i] = in.get(i).intValue();
                    w.add(name, shape, v);
                }
                case I64 -> {
                    long[] v = new long[in.size()];
                    for (int i = 0; i < v.length; i++) v[i] = in.get(i).longValue();
                    w.add(name, shape, v);
                }
                default -> throw new AssertionError(dt);
            }
        }
        long size = w.write();
        byte[] want = Files.readAllBytes(fixture("all_dtypes.safetensors"));
        byte[] got = Files.readAllBytes(dir.resolve("out.safetensors"));
        assertEquals(want.length, size);
        assertEquals(HexFormat.of().formatHex(want), HexFormat.of().formatHex(got));
        try (var files = Files.list(dir)) {
            assertEquals(List.of(dir.resolve("out.safetensors")), files.toList(), "no temporary file left behind");
        }
    }

    @Test
    void handCheckedMinimalFile(@TempDir Path dir) throws Exception {
        Path f = dir.resolve("t.safetensors");
        new SafetensorsWriter(f)
                .add("x", DType.F32, new long[] {1}, new float[] {1.0f})
                .write();
        String header = "{\"x\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}"; // 54 bytes -> padded to 56
        ByteBuffer want = ByteBuffer.allocate(8 + 56 + 4).order(ByteOrder.LITTLE_ENDIAN);
        want.putLong(56).put(header.getBytes()).put("  ".getBytes()).putFloat(1.0f);
        assertArrayEquals(want.array(), Files.readAllBytes(f));
    }

    @Test
    void roundTripStreamingSourcesAndChunkedMapping(@TempDir Path dir) throws Exception {
        Random r = new Random(7);
        float[] big = new float[1001];
        for (int i = 0; i < big.length; i++) big[i] = (float) r.nextGaussian();
        short[] bf = new short[33];
        for (int i = 0; i < bf.length; i++) bf[i] = Halfs.floatToBf16((float) r.nextGaussian());
        Path f = dir.resolve("s.safetensors");
        new SafetensorsWriter(f)
                .add("odd", DType.U8, new long[] {3}, new byte[] {1, 2, 3}) // makes the next tensor start unaligned
                .add("big", DType.F32, new long[] {7, 143}, sink -> {
                    for (int i = 0; i < big.length; i += 100) sink.writeFloats(big, i, Math.min(100, big.length - i));
                })
                .add("bf", DType.BF16, new long[] {33}, bf)
                .add("h", DType.F16, new long[] {3}, new float[] {0.5f, -1f, 2048f})
                .write();
        try (SafetensorsFile s = SafetensorsFile.open(f, 64)) { // 64-byte chunks: every read crosses chunks
            assertEquals(
                    List.of("odd", "big", "bf", "h"), List.copyOf(s.tensors().keySet()));
            assertEquals(63, s.buffers("big").length); // 4004 bytes in 64-byte chunks
            assertArrayEquals(big, s.readFloats("big"));
            float[] part = new float[50];
            s.readFloats("big", 990 - 50 + 11, part, 0, 50);
            for (int i = 0; i < 50; i++) assertEquals(big[951 + i], part[i]);
            float[] bfRead = s.readFloats("bf");
            for (int i = 0; i < bf.length; i++) assertEquals(Halfs.bf16ToFloat(bf[i]), bfRead[i]);
            assertArrayEquals(new float[] {0.5f, -1f, 2048f}, s.readFloats("h"));
            assertThrows(IndexOutOfBoundsException.class, () -> s.readFloats("big", 1000, new float[2], 0, 2));
            assertThrows(UnsupportedOperationException.class, () -> s.buffer("big"));
        }
    }

    @Test
    void writerRejectsWrongSizesAndLeavesNoFile(@TempDir Path dir) {
        Path f = dir.resolve("w.safetensors");
        SafetensorsWriter w = new SafetensorsWriter(f);
        assertThrows(IllegalArgumentException.class, () -> w.add("a", DType.F32, new long[] {2, 2}, new float[3]));
        assertThrows(
                IllegalArgumentException.class,
                () -> w.add("a", DType.I32, new long[] {2}, new float[2]).write());
        SafetensorsWriter w2 = new SafetensorsWriter(f)
                .add("short", DType.F32, new long[] {4}, sink -> sink.writeFloats(new float[3], 0, 3));
        IllegalStateException e = assertThrows(IllegalStateException.class, w2::write);
        assertTrue(e.getMessage().contains("'short'") && e.getMessage().contains("need 16"), e.getMessage());
        assertFalse(Files.exists(f));
        assertEquals(0, dir.toFile().list().length, "temporary file removed");
        SafetensorsWriter w3 = new SafetensorsWriter(f).add("x", DType.F32, new long[] {1}, new float[1]);
        assertThrows(IllegalArgumentException.class, () -> w3.add("x", DType.F32, new long[] {1}, new float[1]));
    }

    @Test
    void halfConversionsRoundTripEveryBitPattern() {
        for (int h = 0; h < 0x10000; h++) {
            float f = Halfs.f16ToFloat((short) h);
            if (Float.isNaN(f)) {
                assertTrue(((h >> 10) & 0x1F) == 0x1F && (h & 0x3FF) != 0);
                assertTrue(Float.isNaN(Halfs.f16ToFloat(Halfs.floatToF16(f))));
                continue;
            }
            assertEquals(h, Halfs.floatToF16(f) & 0xFFFF, "f16 " + Integer.toHexString(h));
            float b = Halfs.bf16ToFloat((short) h);
            if (!Float.isNaN(b)) assertEquals(h, Halfs.floatToBf16(b) & 0xFFFF, "bf16 " + Integer.toHexString(h));
        }
    }

    @Test
    void readsRealStories260KAndMatchesTheLlama2cCheckpoint() throws Exception {
        Path st = Assets.require("models/stories260K-hf/model.safetensors");
        // llama2.c v0: 7 int32 (dim, hidden, layers, heads, kv_heads, vocab, seq_len), then fp32 weights starting
        // with token_embedding_table [vocab, dim] and rms_att_weight [layers, dim]
        ByteBuffer bin = ByteBuffer.wrap(
                        Files.readAllBytes(Assets.require("models/stories260K-llama2c/stories260K.bin")))
                .order(ByteOrder.LITTLE_ENDIAN);
        int dim = bin.getInt(0);
        int layers = bin.getInt(8);
        int vocab = Math.abs(bin.getInt(20));
        assertEquals(64, dim);
        assertEquals(512, vocab);
        try (ShardedCheckpoint ck = ShardedCheckpoint.open(st.getParent())) {
            assertEquals(47, ck.tensors().size());
            assertEquals(1, ck.files().size());
            TensorInfo emb = ck.info("model.embed_tokens.weight");
            assertEquals(DType.F32, emb.dtype());
            assertArrayEquals(new long[] {vocab, dim}, emb.shape());
            for (TensorInfo t : ck.tensors().values()) assertEquals(DType.F32, t.dtype(), t.name());
            assertFalse(ck.contains("lm_head.weight"), "tie_word_embeddings=true");
            float[] e = ck.readFloats("model.embed_tokens.weight");
            for (int i = 0; i < e.length; i++) assertEquals(bin.getFloat(28 + 4 * i), e[i], "embedding " + i);
            int rmsAtt = 28 + 4 * vocab * dim;
            for (int l = 0; l < layers; l++) {
                float[] w = ck.readFloats("model.layers." + l + ".input_layernorm.weight");
                for (int i = 0; i < dim; i++) assertEquals(bin.getFloat(rmsAtt + 4 * (l * dim + i)), w[i]);
            }
        }
    }
}
