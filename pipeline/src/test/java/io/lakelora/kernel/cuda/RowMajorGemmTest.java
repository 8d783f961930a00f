package io.lakelora.kernel.cuda;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lakelora.kernel.ScalarKernels;
import io.lakelora.safetensors.Halfs;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * The row-major to column-major mapping, run on the fake's reference column-major GEMM: every transpose combination
 * with odd leading dimensions and offsets gives {@link ScalarKernels#sgemm}'s bits (both accumulate in k order in
 * fp32), bf16 operands give the sgemm of the bf16-rounded values, and batched calls give each product.
 */
class RowMajorGemmTest {
    static float[] rand(SplittableRandom r, int n) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) v[i] = (float) (r.nextDouble() * 2 - 1);
        return v;
    }

    @Test
    void mapsToTheSwappedColumnMajorCall() {
        // row-major C (m x n) = A (m x k) B^T (B n x k)  ->  column-major C^T = B A^T: cuBLAS(opA = T, opB = N,
        // m' = n, n' = m, A' = B, B' = A)
        RowMajorGemm.ColumnMajorCall c = RowMajorGemm.map(false, true, 3, 5, 7, 100, 9, 200, 11, 300, 6);
        assertEquals(new RowMajorGemm.ColumnMajorCall(true, false, 5, 3, 7, 200, 11, 100, 9, 300, 6), c);
    }

    @Test
    void allTransposesWithOddLeadingDimensionsMatchScalarSgemm() {
        SplittableRandom r = new SplittableRandom(11);
        ScalarKernels ref = new ScalarKernels();
        int m = 7, n = 5, k = 9;
        try (FakeCudaApi api = new FakeCudaApi(1 << 24)) {
            for (boolean ta : new boolean[] {false, true}) {
                for (boolean tb : new boolean[] {false, true}) {
                    int lda = (ta ? m : k) + 3, ldb = (tb ? k : n) + 2, ldc = n + 5;
                    int aOff = 3, bOff = 1, cOff = 2;
                    float[] a = rand(r, aOff + (ta ? k : m) * lda);
                    float[] b = rand(r, bOff + (tb ? n : k) * ldb);
                    for (float beta : new float[] {0f, 0.75f}) {
                        float[] c = rand(r, cOff + m * ldc);
                        if (beta == 0f) c[cOff] = Float.NaN; // beta 0 ignores C, even NaN
                        float[] want = c.clone();
                        ref.sgemm(ta, tb, m, n, k, 1.25f, a, aOff, lda, b, bOff, ldb, beta, want, cOff, ldc);
                        long da = api.malloc(4L * a.length), db = api.malloc(4L * b.length);
                        long dc = api.malloc(4L * c.length);
                        api.copyToDevice(da, a, 0, a.length);
                        api.copyToDevice(db, b, 0, b.length);
                        api.copyToDevice(dc, c, 0, c.length);
                        RowMajorGemm.gemm(
                                api,
                                ta,
                                tb,
                                m,
                                n,
                                k,
                                1.25f,
                                da + 4 * aOff,
                                DataType.F32,
                                lda,
                                db + 4 * bOff,
                                DataType.F32,
                                ldb,
                                beta,
                                dc + 4 * cOff,
                                ldc,
                                GemmCompute.F32_PEDANTIC);
                        float[] got = new float[c.length];
                        api.copyToHost(got, 0, c.length, dc);
                        assertArrayEquals(want, got, 0f, "transA=" + ta + " transB=" + tb + " beta=" + beta);
                        api.free(da);
                        api.free(db);
                        api.free(dc);
                    }
                }
            }
        }
    }

    @Test
    void bf16OperandsGiveTheSgemmOfTheRoundedValues() {
        SplittableRandom r = new SplittableRandom(12);
        int m = 6, n = 4, k = 10;
        float[] a = rand(r, m * k), b = rand(r, n * k);
        short[] ab = new short[a.length], bb = new short[b.length];
        float[] ar = new float[a.length], br = new float[b.length];
        for (int i = 0; i < a.length; i++) ar[i] = Halfs.bf16ToFloat(ab[i] = Halfs.floatToBf16(a[i]));
        for (int i = 0; i < b.length; i++) br[i] = Halfs.bf16ToFloat(bb[i] = Halfs.floatToBf16(b[i]));
        float[] want = new float[m * n];
        new ScalarKernels().sgemm(false, true, m, n, k, 1f, ar, 0, k, br, 0, k, 0f, want, 0, n);
        try (FakeCudaApi api = new FakeCudaApi(1 << 20)) {
            long da = api.malloc(2L * ab.length), db = api.malloc(2L * bb.length), dc = api.malloc(4L * m * n);
            api.copyToDevice(da, ab, 0, ab.length);
            api.copyToDevice(db, bb, 0, bb.length);
            RowMajorGemm.gemm(
                    api,
                    false,
                    true,
                    m,
                    n,
                    k,
                    1f,
                    da,
                    DataType.BF16,
                    k,
                    db,
                    DataType.BF16,
                    k,
                    0f,
                    dc,
                    n,
                    GemmCompute.F32);
            float[] got = new float[m * n];
            api.copyToHost(got, 0, got.length, dc);
            assertArrayEquals(want, got, 0f);
        }
    }

    @Test
    void batchedProductsEachMatchTheirOwn() {
        // three heads side by side in rows of width 3*HS: S_h = q_h k_h^T with q, k (T, 3*HS), stride HS
        SplittableRandom r = new SplittableRandom(13);
        int T = 5, HS = 4, H = 3, D = H * HS;
        float[] q = rand(r, T * D), k = rand(r, T * D);
        try (FakeCudaApi api = new FakeCudaApi(1 << 20)) {
            long dq = api.malloc(4L * q.length), dk = api.malloc(4L * k.length), ds = api.malloc(4L * H * T * T);
            api.copyToDevice(dq, q, 0, q.length);
            api.copyToDevice(dk, k, 0, k.length);
            RowMajorGemm.gemmBatched(
                    api,
                    false,
                    true,
                    T,
                    T,
                    HS,
                    0.5f,
                    dq,
                    DataType.F32,
                    D,
                    HS,
                    dk,
                    DataType.F32,
                    D,
                    HS,
                    0f,
                    ds,
                    T,
                    (long) T * T,
                    H,
                    GemmCompute.F32_PEDANTIC);
            float[] got = new float[H * T * T];
            api.copyToHost(got, 0, got.length, ds);
            for (int h = 0; h < H; h++) {
                float[] want = new float[T * T];
                new ScalarKernels().sgemm(false, true, T, T, HS, 0.5f, q, h * HS, D, k, h * HS, D, 0f, want, 0, T);
                assertArrayEquals(want, java.util.Arrays.copyOfRange(got, h * T * T, (h + 1) * T * T), 0f, "head " + h);
            }
        }
    }

    @Test
    void badLeadingDimensionsAreRefusedInRowMajorTerms() {
        IllegalArgumentException e = assertThrows(
                IllegalArgumentException.class, () -> RowMajorGemm.map(false, false, 4, 5, 6, 0, 5, 0, 5, 0, 5));
        assertTrue(e.getMessage().contains("A (m x k) has rows of 6 elements but lda is 5"), e.getMessage());
        e = assertThrows(
                IllegalArgumentException.class, () -> RowMajorGemm.map(false, true, 4, 5, 6, 0, 6, 0, 5, 0, 5));
        assertTrue(e.getMessage().contains("B (n x k, transposed) has rows of 6 elements but ldb is 5"));
        e = assertThrows(
                IllegalArgumentException.class, () -> RowMajorGemm.map(true, false, 4, 5, 6, 0, 4, 0, 5, 0, 4));
        assertTrue(e.getMessage().contains("C (m x n) has rows of 5 but ldc is 4"));
    }

    @Test
    void theFakeEnforcesCublasArgumentRulesAndBounds() {
        try (FakeCudaApi api = new FakeCudaApi(1 << 20)) {
            long a = api.malloc(64);
            CudaException e = assertThrows(
                    CudaException.class,
                    () -> api.gemmEx(
                            false,
                            false,
                            4,
                            4,
                            4,
                            1f,
                            a,
                            DataType.F32,
                            3,
                            a,
                            DataType.F32,
                            4,
                            0f,
                            a,
                            DataType.F32,
                            4,
                            GemmCompute.F32));
            assertTrue(e.getMessage().contains("lda 3 < 4"), e.getMessage());
            // 4x4 fp32 = 64 bytes fits; 5x4 does not
            e = assertThrows(
                    CudaException.class,
                    () -> api.gemmEx(
                            false,
                            false,
                            5,
                            4,
                            4,
                            1f,
                            a,
                            DataType.F32,
                            5,
                            a,
                            DataType.F32,
                            4,
                            0f,
                            a,
                            DataType.F32,
                            5,
                            GemmCompute.F32));
            assertTrue(e.getMessage().contains("outside every allocation"), e.getMessage());
        }
    }
}
