package io.lakelora.quant;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;

/**
 * Bit-exact parity of {@link Quantizer} / {@link QuantizedMatrix} / {@link DynamicMap} with the numpy reference
 * ({@code src/test/python/quant_reference.py}, from bitsandbytes' kernels), whose dynamic map was itself checked
 * against PyTorch's {@code torch.linspace}.
 */
class QuantizerTest {
    private static JsonNode fixture;

    @BeforeAll
    static void load() {
        fixture = QuantFixture.load();
    }

    @Test
    void dynamicMapIsBitsandbytesSignedMap() {
        float[] expected = QuantFixture.floats(fixture.get("dynamic_map"));
        float[] actual = DynamicMap.signed();
        assertEquals(256, actual.length);
        assertBitsEqual(expected, actual, "dynamic map");
        assertEquals(0f, actual[127]);
        assertEquals(1.0f, actual[255]);
        assertEquals(-0.99296874f, actual[0]);
        for (int i = 1; i < 256; i++) assertTrue(actual[i - 1] < actual[i], "map sorted at " + i);
    }

    @Test
    void codebooksMatchBitsandbytes() {
        assertBitsEqual(QuantFixture.floats(fixture.get("nf4_code")), QuantType.NF4.codebook(), "NF4 codebook");
        assertBitsEqual(QuantFixture.floats(fixture.get("fp4_code")), QuantType.FP4.codebook(), "FP4 codebook");
        // the dequantization constants of csrc/kernels.cu (fp4_dequantization_lut, signed by bit 3) are the same floats
        float[] lut = {0.0f, 0.005208333333f, 0.66666667f, 1.0f, 0.33333333f, 0.5f, 0.16666667f, 0.25f};
        float[] fp4 = QuantType.FP4.codebook();
        for (int i = 0; i < 16; i++) {
            float kernel = lut[i & 7] * (1.0f - 2 * ((i & 8) >> 3));
            assertEquals(Float.floatToIntBits(kernel), Float.floatToIntBits(fp4[i]), "FP4 code " + i);
        }
    }

    @Test
    void encodersMatchReferenceOnEveryThreshold() {
        JsonNode enc = fixture.get("encode");
        checkEncoder(enc.get("nf4"), Quantizer::encodeNf4, "NF4");
        checkEncoder(enc.get("nf4"), Quantizer::nf4Search, "NF4 search");
        checkEncoder(enc.get("fp4"), Quantizer::encodeFp4, "FP4");
        checkEncoder(enc.get("fp4"), Quantizer::fp4Search, "FP4 search");
        float[] map = DynamicMap.signed();
        checkEncoder(enc.get("dynamic"), x -> DynamicMap.encode(map, x), "dynamic");
    }

    private interface FloatEncoder {
        int encode(float x);
    }

    private static void checkEncoder(JsonNode probes, FloatEncoder enc, String name) {
        float[] x = QuantFixture.floats(probes.get("x"));
        byte[] code = QuantFixture.bytes(probes.get("code"));
        assertTrue(x.length > 40, name + " probes");
        for (int i = 0; i < x.length; i++) {
            int actual = enc.encode(x[i]);
            if (actual != (code[i] & 0xff)) {
                fail(name + " encode(" + x[i] + " = 0x" + Integer.toHexString(Float.floatToRawIntBits(x[i])) + ") = "
                        + actual + ", reference " + (code[i] & 0xff));
            }
        }
    }

    @Test
    void branchFreeSearchesEqualTheKernelTrees() {
        // every float in [-1.25, 1.25] on a stride of 97 ulps (about 22 million values), plus the specials
        int from = Float.floatToRawIntBits(-1.25f);
        int to = Float.floatToRawIntBits(1.25f);
        for (int b = from; b < 0 && b > Integer.MIN_VALUE; b -= 97) check(Float.intBitsToFloat(b));
        for (int b = 0; b <= to; b += 97) check(Float.intBitsToFloat(b));
        for (float x : new float[] {Float.NaN, -0f, 0f, Float.MIN_VALUE, -Float.MIN_VALUE, 1f, -1f}) check(x);
    }

    private static void check(float x) {
        if (Quantizer.nf4Search(x) != Quantizer.encodeNf4(x) || Quantizer.fp4Search(x) != Quantizer.encodeFp4(x)) {
            fail("search and tree disagree at " + x + " (0x" + Integer.toHexString(Float.floatToRawIntBits(x)) + ")");
        }
    }

    @TestFactory
    List<DynamicTest> fourBitCasesMatchReference() {
        List<DynamicTest> tests = new ArrayList<>();
        for (JsonNode c : fixture.get("cases")) {
            String name = c.get("input").asText() + " " + c.get("type").asText() + " bs"
                    + c.get("blocksize").asInt() + (c.get("double_quant").asBoolean() ? " dq" : "");
            tests.add(DynamicTest.dynamicTest(name, () -> checkFourBit(c, name)));
        }
        assertEquals(26, tests.size());
        return tests;
    }

    private static void checkFourBit(JsonNode c, String name) {
        JsonNode in = fixture.get("inputs").get(c.get("input").asText());
        int rows = in.get("rows").asInt();
        int cols = in.get("cols").asInt();
        float[] w = QuantFixture.floats(in.get("data"));
        float[] wCopy = w.clone();
        QuantType type = QuantType.parse(c.get("type").asText());
        boolean dq = c.get("double_quant").asBoolean();
        QuantizedMatrix q = new Quantizer(type, c.get("blocksize").asInt(), dq).quantize(w, rows, cols);

        assertArrayEquals(wCopy, w, name + ": input untouched");
        assertEquals(type, q.type());
        assertEquals(dq, q.doubleQuant());
        assertBytesEqual(QuantFixture.bytes(c.get("packed")), q.packedData(), name + " packed codes");
        if (dq) {
            assertNull(q.absmaxData());
            assertBytesEqual(QuantFixture.bytes(c.get("absmax_codes")), q.absmaxCodeData(), name + " absmax codes");
            assertBitsEqual(QuantFixture.floats(c.get("nested_absmax")), q.nestedAbsmaxData(), name + " nested absmax");
            assertEquals(
                    Float.floatToIntBits(QuantFixture.bitsToFloat(c.get("offset"))),
                    Float.floatToIntBits(q.nestedOffset()),
                    name + " offset");
            assertBitsEqual(QuantFixture.floats(fixture.get("dynamic_map")), q.nestedCodeData(), name + " nested map");
            assertEquals(256, q.nestedBlocksize());
        } else {
            assertNull(q.absmaxCodeData());
            assertBitsEqual(QuantFixture.floats(c.get("absmax")), q.absmaxData(), name + " absmax");
        }
        assertBitsEqual(QuantFixture.floats(c.get("dequant")), q.dequantize(), name + " dequantized");
    }

    @TestFactory
    List<DynamicTest> int8CasesMatchReference() {
        List<DynamicTest> tests = new ArrayList<>();
        for (JsonNode c : fixture.get("int8")) {
            String name = c.get("input").asText() + " int8";
            tests.add(DynamicTest.dynamicTest(name, () -> {
                JsonNode in = fixture.get("inputs").get(c.get("input").asText());
                int rows = in.get("rows").asInt();
                int cols = in.get("cols").asInt();
                QuantizedMatrix q = new Quantizer(QuantType.INT8, 0, false)
                        .quantize(QuantFixture.floats(in.get("data")), rows, cols);
                assertBytesEqual(QuantFixture.bytes(c.get("q")), q.packedData(), name + " q");
                assertBitsEqual(QuantFixture.floats(c.get("row_scale")), q.rowScaleData(), name + " row scale");
                assertBitsEqual(QuantFixture.floats(c.get("dequant")), q.dequantize(), name + " dequantized");
            }));
        }
        assertEquals(3, tests.size());
        return tests;
    }

    @Test
    void int8RoundsHalfToEven() {
        // rowmax 127 makes the scale exactly 1.0, so these are exact ties
        float[] w = {127f, 2.5f, 3.5f, -2.5f, -0.5f, 0.5f, 1.5f};
        byte[] q =
                new Quantizer(QuantType.INT8, 0, false).quantize(w, 1, w.length).packedData();
        assertArrayEquals(new byte[] {127, 2, 4, -2, 0, 0, 2}, q);
    }

    @Test
    void bitsPerParamNf4WithAndWithoutDoubleQuant() {
        // 256 x 4096 = 2^20 values: 16384 blocks of 64, 64 nested blocks of 256 -- all divisions exact
        int rows = 256;
        int cols = 4096;
        float[] w = new float[rows * cols];
        Random rnd = new Random(7);
        for (int i = 0; i < w.length; i++) w[i] = (float) rnd.nextGaussian() * 0.02f;

        QuantizedMatrix dq = Quantizer.qlora().quantize(w, rows, cols);
        assertEquals(4.0 + 8.0 / 64 + 32.0 / (64 * 256), dq.bitsPerParam(), 0.0);
        assertTrue(dq.bitsPerParam() <= 4.2);
        // packed 2^19 + 16384 codes + 64 nested fp32 + 256-entry fp32 map + fp32 offset + 16-entry fp32 codebook
        assertEquals(524288L + 16384 + 64 * 4 + 256 * 4 + 4 + 16 * 4, dq.residentBytes());

        QuantizedMatrix plain = new Quantizer(QuantType.NF4, 64, false).quantize(w, rows, cols);
        assertEquals(4.5, plain.bitsPerParam(), 0.0);
        assertEquals(524288L + 16384 * 4 + 16 * 4, plain.residentBytes());

        QuantizedMatrix int8 = new Quantizer(QuantType.INT8, 0, false).quantize(w, rows, cols);
        assertEquals(8.0 + 32.0 / cols, int8.bitsPerParam(), 0.0);
    }

    @Test
    void blocksCrossRowBoundariesAndDequantizeMatchesGet() {
        float[] w = new float[5 * 13]; // 65 values: two blocks of 32 and one of 1, odd count
        for (int i = 0; i < w.length; i++) w[i] = (i % 7 - 3) * 0.1f;
        QuantizedMatrix q = new Quantizer(QuantType.NF4, 32, false).quantize(w, 5, 13);
        assertEquals(3, q.blockCount());
        assertEquals(33, q.packedData().length);
        // the last value (index 64, alone in block 2) is -0.2, its own absmax: code 0 (-1.0); the pad nibble encodes
        // 0.0 * (1 / 0.2) = 0 -> code 7
        assertEquals(0x07, q.packedData()[32] & 0xff);
        float[] all = q.dequantize();
        for (int r = 0; r < 5; r++) {
            for (int c = 0; c < 13; c++) assertEquals(all[r * 13 + c], q.get(r, c));
        }
    }

    @Test
    void rejectsBadInput() {
        Quantizer nf4 = Quantizer.qlora();
        float[] w = new float[12];
        w[7] = Float.NaN;
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> nf4.quantize(w, 3, 4));
        assertTrue(e.getMessage().contains("row 1, column 3"), e.getMessage());
        w[7] = Float.POSITIVE_INFINITY;
        assertThrows(IllegalArgumentException.class, () -> nf4.quantize(w, 3, 4));
        e = assertThrows(IllegalArgumentException.class, () -> nf4.quantize(new float[11], 3, 4));
        assertTrue(e.getMessage().contains("3x4"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> new Quantizer(QuantType.NF4, 48, true));
        assertTrue(e.getMessage().contains("48"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> new Quantizer(QuantType.NF4, 8192, true));
        assertThrows(IllegalArgumentException.class, () -> new Quantizer(QuantType.INT8, 64, true));
        assertThrows(IllegalArgumentException.class, () -> new Quantizer(QuantType.NONE, 64, false));
        assertFalse(new Quantizer(QuantType.FP4, 4096, false).doubleQuant());
    }

    private static void assertBitsEqual(float[] expected, float[] actual, String what) {
        assertEquals(expected.length, actual.length, what + ": length");
        for (int i = 0; i < expected.length; i++) {
            if (Float.floatToRawIntBits(expected[i]) != Float.floatToRawIntBits(actual[i])) {
                fail(what + ": first difference at " + i + ": expected " + expected[i] + " (0x"
                        + Integer.toHexString(Float.floatToRawIntBits(expected[i])) + "), got " + actual[i] + " (0x"
                        + Integer.toHexString(Float.floatToRawIntBits(actual[i])) + ")");
            }
        }
    }

    private static void assertBytesEqual(byte[] expected, byte[] actual, String what) {
        assertEquals(expected.length, actual.length, what + ": length");
        for (int i = 0; i < expected.length; i++) {
            if (expected[i] != actual[i]) {
                fail(what + ": first difference at " + i + ": expected 0x" + Integer.toHexString(expected[i] & 0xff)
                        + ", got 0x" + Integer.toHexString(actual[i] & 0xff));
            }
        }
    }
}
