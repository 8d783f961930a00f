package io.lakelora.kernel.cuda;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.lakelora.kernel.ScalarKernels;
import io.lakelora.quant.QuantType;
import io.lakelora.quant.QuantizedMatrix;
import io.lakelora.quant.Quantizer;
import io.lakelora.safetensors.Halfs;
import java.nio.file.Path;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The upload layout of quantized weights and the decode kernels (through the fake, which follows the CUDA source):
 * every format decodes to {@link QuantizedMatrix#get}'s bits, by tiles of rows; and the frozen products through the
 * decode tiles and cuBLAS equal {@link ScalarKernels#qgemm}.
 */
class DeviceQuantTest {
    @TempDir
    Path cache;

    static QuantizedMatrix matrix(QuantType t, int blocksize, boolean dq, int rows, int cols, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        float[] w = new float[rows * cols];
        for (int i = 0; i < w.length; i++) w[i] = (float) (r.nextGaussian() * (1 + (i % 7)));
        return new Quantizer(t, blocksize, dq).quantize(w, rows, cols);
    }

    @Test
    void layoutOffsetsAreAlignedAndSized() {
        // NF4 + DQ, 64 x 96 = 6144 values: packed 3072 bytes; codebook 64 -> 256; 96 blocks of 64: 96 codes -> 256;
        // ceil(96 / 256) = 1 nested absmax (4 bytes -> 256); the 256-entry nested map 1024 bytes
        QuantLayout l = QuantLayout.of(matrix(QuantType.NF4, 64, true, 64, 96, 1));
        assertEquals(0, l.packed());
        assertEquals(3072, l.code());
        assertEquals(3072 + 256, l.absmaxCodes());
        assertEquals(3072 + 512, l.nestedAbsmax());
        assertEquals(3072 + 768, l.nestedCode());
        assertEquals(3072 + 768 + 1024, l.bytes());
        assertEquals(-1, l.absmax());
        // FP4 without DQ, 5 x 13 = 65 values (odd): 33 packed bytes -> 256; code 256; ceil(65 / 32) = 3 absmax -> 256
        l = QuantLayout.of(matrix(QuantType.FP4, 32, false, 5, 13, 2));
        assertEquals(256, l.code());
        assertEquals(512, l.absmax());
        assertEquals(768, l.bytes());
        // INT8 3 x 100: 300 bytes -> 512; 3 row scales -> 256
        l = QuantLayout.of(matrix(QuantType.INT8, 0, false, 3, 100, 3));
        assertEquals(512, l.rowScale());
        assertEquals(768, l.bytes());
        assertEquals(-1, l.code());
    }

    @Test
    void everyFormatDecodesBitForBitByTiles() {
        Object[][] cases = {
            {QuantType.NF4, 64, true, 37, 96}, // DQ, several nested blocks only with more rows: see the next case
            {QuantType.NF4, 64, true, 300, 128}, // 600 blocks: 3 nested absmax blocks of 256
            {QuantType.NF4, 32, false, 9, 13}, // odd row length: blocks and bytes cross rows
            {QuantType.FP4, 64, true, 11, 70},
            {QuantType.FP4, 128, false, 5, 33},
            {QuantType.INT8, 0, false, 7, 19},
        };
        try (TestDevice d = new TestDevice(cache);
                DeviceArena arena = new DeviceArena(d.api, "base", 1 << 22)) {
            long seed = 10;
            for (Object[] c : cases) {
                QuantizedMatrix q =
                        matrix((QuantType) c[0], (int) c[1], (boolean) c[2], (int) c[3], (int) c[4], seed++);
                DeviceQuantMatrix w = DeviceQuantMatrix.upload(d.api, arena, q);
                int rows = q.rows(), cols = q.cols(), ldo = cols + 3;
                String what = c[0] + " bs=" + c[1] + " dq=" + c[2] + " " + rows + "x" + cols;
                long out = d.api.malloc(4L * rows * ldo);
                long outB = d.api.malloc(2L * rows * ldo);
                int tile = Math.max(1, rows / 3);
                for (int r0 = 0; r0 < rows; r0 += tile) {
                    int n = Math.min(tile, rows - r0);
                    d.ops.dequantTile(w, out + 4L * r0 * ldo, ldo, DataType.F32, r0, n);
                    d.ops.dequantTile(w, outB + 2L * r0 * ldo, ldo, DataType.BF16, r0, n);
                }
                float[] got = d.read(out, rows * ldo);
                short[] gotB = new short[rows * ldo];
                d.api.copyToHost(gotB, 0, gotB.length, outB);
                for (int r = 0; r < rows; r++) {
                    for (int col = 0; col < cols; col++) {
                        float want = q.get(r, col);
                        assertEquals(
                                Float.floatToRawIntBits(want),
                                Float.floatToRawIntBits(got[r * ldo + col]),
                                what + " (" + r + ", " + col + ")");
                        assertEquals(
                                Halfs.floatToBf16(want), gotB[r * ldo + col], what + " bf16 (" + r + ", " + col + ")");
                    }
                }
            }
        }
    }

    @Test
    void decodeRangesAreChecked() {
        try (TestDevice d = new TestDevice(cache);
                DeviceArena arena = new DeviceArena(d.api, "base", 1 << 16)) {
            DeviceQuantMatrix w = DeviceQuantMatrix.upload(d.api, arena, matrix(QuantType.NF4, 64, true, 8, 64, 4));
            long out = d.api.malloc(4L * 8 * 64);
            assertThrows(IllegalArgumentException.class, () -> d.ops.dequantTile(w, out, 64, DataType.F32, 4, 5));
            assertThrows(IllegalArgumentException.class, () -> d.ops.dequantTile(w, out, 63, DataType.F32, 0, 1));
            // a tile buffer of 4 rows asked for 8: the fake reports the write past the allocation
            long small = d.api.malloc(4L * 4 * 64);
            CudaException e =
                    assertThrows(CudaException.class, () -> d.ops.dequantTile(w, small, 64, DataType.F32, 0, 8));
            org.junit.jupiter.api.Assertions.assertTrue(
                    e.getMessage().contains("outside its allocation"), e.getMessage());
        }
    }

    @Test
    void frozenProductsMatchScalarQgemm() {
        SplittableRandom r = new SplittableRandom(21);
        ScalarKernels ref = new ScalarKernels();
        int N = 5, OUT = 48, IN = 128;
        QuantizedMatrix q = matrix(QuantType.NF4, 64, true, OUT, IN, 22);
        float[] x = new float[N * IN], dy = new float[N * OUT];
        for (int i = 0; i < x.length; i++) x[i] = (float) r.nextGaussian();
        for (int i = 0; i < dy.length; i++) dy[i] = (float) r.nextGaussian();
        float[] yWant = new float[N * OUT], dxWant = new float[N * IN];
        ref.qgemm(false, true, N, OUT, IN, 1f, x, 0, IN, q, 0f, yWant, 0, OUT);
        ref.qgemm(false, false, N, IN, OUT, 1f, dy, 0, OUT, q, 0f, dxWant, 0, IN);
        try (TestDevice d = new TestDevice(cache);
                DeviceArena arena = new DeviceArena(d.api, "base", 1 << 20)) {
            DeviceQuantMatrix w = DeviceQuantMatrix.upload(d.api, arena, q);
            long dx = d.floats(x), ddy = d.floats(dy), y = d.zeros(N * OUT), gx = d.zeros(N * IN);
            for (int tileRows : new int[] {OUT, 10}) { // one tile, then 5 tiles (the last one short)
                long tile = d.api.malloc(4L * tileRows * IN);
                FrozenGemm g = new FrozenGemm(d.ops, FrozenGemm.Mode.F32, tile, 4L * tileRows * IN, 0, 0);
                g.forward(w, dx, IN, N, 1f, 0f, y, OUT);
                assertArrayEquals(yWant, d.read(y, N * OUT), 0f, "forward, tiles of " + tileRows + " rows");
                g.backwardInput(w, ddy, OUT, N, 1f, 0f, gx, IN);
                float[] got = d.read(gx, N * IN);
                if (tileRows == OUT) {
                    assertArrayEquals(dxWant, got, 0f, "input gradient in one tile: the same sum");
                } else {
                    for (int i = 0; i < got.length; i++) {
                        assertEquals(dxWant[i], got[i], 1e-5f * (1 + Math.abs(dxWant[i])), "tiled input gradient " + i);
                    }
                }
                d.api.free(tile);
            }
            // bf16: the fp32 product of the bf16-rounded activations and weights
            float[] xr = new float[x.length];
            for (int i = 0; i < x.length; i++) xr[i] = Halfs.bf16ToFloat(Halfs.floatToBf16(x[i]));
            float[] wr = q.dequantize();
            for (int i = 0; i < wr.length; i++) wr[i] = Halfs.bf16ToFloat(Halfs.floatToBf16(wr[i]));
            float[] want = new float[N * OUT];
            ref.sgemm(false, true, N, OUT, IN, 1f, xr, 0, IN, wr, 0, IN, 0f, want, 0, OUT);
            long tile = d.api.malloc(2L * 16 * IN), act = d.api.malloc(2L * N * IN);
            FrozenGemm g = new FrozenGemm(d.ops, FrozenGemm.Mode.BF16, tile, 2L * 16 * IN, act, 2L * N * IN);
            g.forward(w, dx, IN, N, 1f, 0f, y, OUT);
            assertArrayEquals(want, d.read(y, N * OUT), 0f, "bf16 forward");
        }
    }
}
