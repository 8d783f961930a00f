package io.lakelora.kernel;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.lakelora.quant.QuantType;
import io.lakelora.quant.QuantizedMatrix;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import jdk.incubator.vector.FloatVector;
import org.junit.jupiter.api.Test;

/**
 * Pins the exact arithmetic of the blocked {@link VectorKernels} path, bit for bit, so that speed work (packing,
 * in-place A reads) cannot change results: training determinism compares adapters bit for bit across versions.
 *
 * <p>The reference below is a scalar model of the blocked algorithm, written from its contract, not from the code
 * under test: per output element and per k slice ({@code KC} deep; a remainder of up to KC / 2 joins the slice
 * before it, up to {@code KC_MAX}), a fused multiply-add chain over p in increasing
 * order starting from 0 ({@code Math.fma} rounds as a vector lane's fma does), then the store: a full
 * {@code mr x nr} tile does {@code fma(acc, alpha, beta * c)} (or {@code alpha * acc} when {@code beta == 0}); an
 * edge tile does {@code alpha * acc + beta * c} unfused. Later slices use {@code beta = 1}. Row strips start at
 * multiples of {@code mr}, column tiles at multiples of {@code nr} (single thread, m above the small-m bound).
 */
class GemmBitIdentityTest {
    private static final int[][] SHAPES = {
        // narrow n (one column tile: the in-place A path), odd m, k in one slice deeper than KC, two and three slices
        {13, 1, 5},
        {25, 5, 600},
        {37, 16, 1100},
        {200, 31, 1700},
        {49, 32, 70},
        {12, 16, 512},
        {11, 8, 33},
        // wide n (packed A path), m over several MC blocks
        {193, 40, 1300},
        {30, 70, 129},
        {9, 33, 1030},
    };
    private static final float[][] ALPHA_BETA = {{1f, 0f}, {0.5f, -1.5f}, {-2f, 1f}};

    private static List<VectorKernels> variants() {
        List<VectorKernels> v = new ArrayList<>();
        if (FloatVector.SPECIES_PREFERRED.vectorBitSize() >= 512) {
            v.add(new VectorKernels(1, FloatVector.SPECIES_512, VectorKernels.MIN_FLOPS_PER_THREAD, false));
        }
        v.add(new VectorKernels(1, FloatVector.SPECIES_256));
        v.add(new VectorKernels(1, FloatVector.SPECIES_128));
        return v;
    }

    private static int mr(VectorKernels vk) {
        return switch (vk.vectorBits()) {
            case 512 -> MicroKernel512.MR;
            case 256 -> MicroKernel256.MR;
            default -> MicroKernel128.MR;
        };
    }

    private static int nr(VectorKernels vk) {
        return switch (vk.vectorBits()) {
            case 512 -> MicroKernel512.NR;
            case 256 -> MicroKernel256.NR;
            default -> MicroKernel128.NR;
        };
    }

    /** op(X)(i, p) of a row-major matrix with leading dimension ld. */
    private interface At {
        float get(int i, int p);
    }

    private static float[] model(
            int mr, int nr, int m, int n, int k, float alpha, At opA, At opB, float beta, float[] c0, int ldc) {
        float[] c = c0.clone();
        for (int i = 0; i < m; i++) {
            boolean fullRows = (i / mr) * mr + mr <= m;
            for (int j = 0; j < n; j++) {
                boolean full = fullRows && (j / nr) * nr + nr <= n;
                for (int pc = 0; pc < k; pc += VectorKernels.sliceDepth(k, pc)) {
                    int kc = VectorKernels.sliceDepth(k, pc);
                    float acc = 0f;
                    for (int p = pc; p < pc + kc; p++) acc = Math.fma(opA.get(i, p), opB.get(p, j), acc);
                    float be = pc == 0 ? beta : 1f;
                    float old = c[i * ldc + j];
                    float v;
                    if (full) {
                        v = be == 0f ? acc * alpha : Math.fma(acc, alpha, old * be);
                    } else {
                        v = be == 0f ? alpha * acc : alpha * acc + be * old;
                    }
                    c[i * ldc + j] = v;
                }
            }
        }
        return c;
    }

    private static float[] randoms(Random rnd, int len) {
        float[] x = new float[len];
        for (int i = 0; i < len; i++) x[i] = (float) rnd.nextGaussian();
        return x;
    }

    private static void assertBits(float[] want, float[] got, String what) {
        for (int i = 0; i < want.length; i++) {
            if (Float.floatToRawIntBits(want[i]) != Float.floatToRawIntBits(got[i])) {
                assertEquals(want[i], got[i], 0f, what + ": element " + i + " differs in its bits");
                assertEquals(
                        Float.floatToRawIntBits(want[i]),
                        Float.floatToRawIntBits(got[i]),
                        what + ": element " + i + " differs in its bits");
            }
        }
    }

    @Test
    void sgemmIsBitIdenticalToTheBlockedModel() {
        Random rnd = new Random(2026);
        int caseNo = 0;
        for (int[] s : SHAPES) {
            int m = s[0], n = s[1], k = s[2];
            for (int t = 0; t < 4; t++) {
                boolean ta = (t & 1) != 0, tb = (t & 2) != 0;
                float[] ab = ALPHA_BETA[caseNo++ % ALPHA_BETA.length];
                // leading dimensions wider than the rows, to catch stride mix-ups
                int lda = (ta ? m : k) + 3, ldb = (tb ? k : n) + 2, ldc = n + 1;
                float[] a = randoms(rnd, (ta ? k : m) * lda);
                float[] b = randoms(rnd, (tb ? n : k) * ldb);
                float[] c0 = randoms(rnd, m * ldc);
                At opA = ta ? (i, p) -> a[p * lda + i] : (i, p) -> a[i * lda + p];
                At opB = tb ? (p, j) -> b[j * ldb + p] : (p, j) -> b[p * ldb + j];
                for (VectorKernels vk : variants()) {
                    float[] want = model(mr(vk), nr(vk), m, n, k, ab[0], opA, opB, ab[1], c0, ldc);
                    float[] got = c0.clone();
                    vk.sgemm(ta, tb, m, n, k, ab[0], a, 0, lda, b, 0, ldb, ab[1], got, 0, ldc);
                    assertBits(
                            want,
                            got,
                            vk.name() + " sgemm ta=" + ta + " tb=" + tb + " " + m + "x" + n + "x" + k + " alpha="
                                    + ab[0] + " beta=" + ab[1]);
                }
            }
        }
    }

    @Test
    void qgemmIsBitIdenticalToTheBlockedModel() {
        Random rnd = new Random(7);
        // W [rows, cols]: 16 and 31 rows give one column tile with transB (the in-place A path); columns a multiple of
        // the blocksize (640, 256) take the eight-rows-at-once decode with transB, with and without double quant
        int[][] wShapes = {{16, 600}, {31, 172}, {70, 130}, {40, 640}, {24, 256}, {45, 1152}};
        int caseNo = 0;
        for (int[] ws : wShapes) {
            QuantizedMatrix w = RandomWeights.fourBit(rnd, QuantType.NF4, ws[0], ws[1], 64, caseNo % 2 == 1);
            float[] wDeq = w.dequantize();
            for (int t = 0; t < 4; t++) {
                boolean ta = (t & 1) != 0, tb = (t & 2) != 0;
                float[] ab = ALPHA_BETA[caseNo++ % ALPHA_BETA.length];
                int n = tb ? w.rows() : w.cols(), k = tb ? w.cols() : w.rows();
                int m = 29;
                int lda = (ta ? m : k) + 1, ldc = n;
                float[] a = randoms(rnd, (ta ? k : m) * lda);
                float[] c0 = randoms(rnd, m * ldc);
                At opA = ta ? (i, p) -> a[p * lda + i] : (i, p) -> a[i * lda + p];
                int cols = w.cols();
                At opB = tb ? (p, j) -> wDeq[j * cols + p] : (p, j) -> wDeq[p * cols + j];
                for (VectorKernels vk : variants()) {
                    float[] want = model(mr(vk), nr(vk), m, n, k, ab[0], opA, opB, ab[1], c0, ldc);
                    float[] got = c0.clone();
                    vk.qgemm(ta, tb, m, n, k, ab[0], a, 0, lda, w, ab[1], got, 0, ldc);
                    assertBits(want, got, vk.name() + " qgemm ta=" + ta + " tb=" + tb + " W=" + ws[0] + "x" + ws[1]);
                }
            }
        }
    }
}
