package io.lakelora.gguf;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.HexFormat;
import org.junit.jupiter.api.Test;

/**
 * Our encodings against llama.cpp's own gguf-py (fixtures/gguf/quants.json, written by gen_quants.py beside it): Q8_0
 * blocks bit for bit (scale rounding, ties away from zero, a zero block, a scale below fp16's normals), F16, BF16,
 * and the Q8_0 decoding.
 */
class GgmlTypeTest {
    static final Path FIXTURE = Path.of("src/test/resources/fixtures/gguf/quants.json");

    @Test
    void encodingsEqualLlamaCppsGgufPy() throws Exception {
        JsonNode f = new ObjectMapper().readTree(FIXTURE.toFile());
        float[] x = floats(f.get("input"));
        long[] ne = {f.get("shape").get(1).asLong(), f.get("shape").get(0).asLong()};
        for (GgmlType t : new GgmlType[] {GgmlType.Q8_0, GgmlType.F16, GgmlType.BF16}) {
            ByteBuffer b = ByteBuffer.allocate((int) t.bytes(ne)).order(ByteOrder.LITTLE_ENDIAN);
            t.encode(x, 0, x.length, b);
            assertEquals(0, b.remaining(), t + " fills exactly its bytes");
            String want = f.get(t.cliName()).asText();
            String got = HexFormat.of().formatHex(b.array());
            for (int i = 0; i < want.length(); i += 2) {
                if (!want.regionMatches(i, got, i, 2)) {
                    int block = i / 2 / (t.typeSize());
                    throw new AssertionError(t + ": byte " + i / 2 + " (block " + block + ") is "
                            + got.substring(i, i + 2) + ", gguf-py wrote " + want.substring(i, i + 2));
                }
            }
            assertEquals(want, got, t.toString());
        }
        ByteBuffer q =
                ByteBuffer.wrap(HexFormat.of().parseHex(f.get("q8_0").asText())).order(ByteOrder.LITTLE_ENDIAN);
        float[] back = new float[x.length];
        GgmlType.Q8_0.decode(q, back, 0, back.length);
        float[] want = floats(f.get("q8_0_dequantized"));
        for (int i = 0; i < back.length; i++) assertEquals(want[i], back[i], 0f, "dequantized value " + i);
    }

    @Test
    void sizesAndRoundf() {
        assertEquals(34L * 2 * 3, GgmlType.Q8_0.bytes(new long[] {64, 3}));
        assertEquals(4L * 172 * 64, GgmlType.F32.bytes(new long[] {172, 64}));
        assertFalse(GgmlType.Q8_0.fitsRow(172));
        assertTrue(GgmlType.F16.fitsRow(172));
        assertThrows(IllegalArgumentException.class, () -> GgmlType.Q8_0.bytes(new long[] {172, 64}));
        assertEquals(3, GgmlType.roundf(2.5f));
        assertEquals(-3, GgmlType.roundf(-2.5f));
        assertEquals(0, GgmlType.roundf(0.49999997f));
        assertEquals(-127, GgmlType.roundf(-127f));
        assertEquals(GgmlType.Q8_0, GgmlType.parse("Q8_0"));
        assertThrows(IllegalArgumentException.class, () -> GgmlType.parse("q4_k"));
    }

    static float[] floats(JsonNode a) {
        float[] v = new float[a.size()];
        for (int i = 0; i < v.length; i++) v[i] = (float) a.get(i).asDouble();
        return v;
    }
}
