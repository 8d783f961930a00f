package io.lakelora.kernel;

import java.util.Arrays;

/**
 * Packs fp32 blocks of op(A) and op(B) into the strip layouts {@link MicroKernel} reads (see there): A by strips of
 * {@code mr} rows, B by strips of {@code nr} columns, k-major inside a strip, edge strips zero-padded. Indices are
 * absolute (row/column/k of op(X)), so callers split work without shifting offsets.
 */
final class Packing {
    private Packing() {}

    /** Packs op(A)[i0 .. i0+mc, p0 .. p0+kc) into {@code ap} (strip s at {@code s * mr * kc}). */
    static void packA(boolean transA, float[] a, int aOff, int lda, int i0, int mc, int p0, int kc,
                      float[] ap, int mr) {
        int o = 0;
        for (int is = 0; is < mc; is += mr) {
            int rows = Math.min(mr, mc - is);
            if (!transA) {
                // op(A)(i, p) = a[i*lda + p]: read rows contiguously, write with stride mr
                for (int r = 0; r < rows; r++) {
                    int src = aOff + (i0 + is + r) * lda + p0;
                    int dst = o + r;
                    for (int p = 0; p < kc; p++) ap[dst + p * mr] = a[src + p];
                }
            } else {
                // op(A)(i, p) = a[p*lda + i]: each k step is a contiguous run of rows
                for (int p = 0; p < kc; p++) {
                    int src = aOff + (p0 + p) * lda + i0 + is;
                    int dst = o + p * mr;
                    for (int r = 0; r < rows; r++) ap[dst + r] = a[src + r];
                }
            }
            if (rows < mr) {
                for (int p = 0; p < kc; p++) Arrays.fill(ap, o + p * mr + rows, o + (p + 1) * mr, 0f);
            }
            o += mr * kc;
        }
    }

    /** Packs op(B)[p0 .. p0+kc, j0 .. j0+nc) into {@code bp} (strip s at {@code s * nr * kc}). */
    static void packB(boolean transB, float[] b, int bOff, int ldb, int j0, int nc, int p0, int kc,
                      float[] bp, int nr) {
        int o = 0;
        for (int js = 0; js < nc; js += nr) {
            int cols = Math.min(nr, nc - js);
            if (!transB) {
                // op(B)(p, j) = b[p*ldb + j]: each k step is a contiguous run of columns
                for (int p = 0; p < kc; p++) {
                    int dst = o + p * nr;
                    System.arraycopy(b, bOff + (p0 + p) * ldb + j0 + js, bp, dst, cols);
                    if (cols < nr) Arrays.fill(bp, dst + cols, dst + nr, 0f);
                }
            } else {
                // op(B)(p, j) = b[j*ldb + p]: read rows of B contiguously, write with stride nr
                for (int j = 0; j < cols; j++) {
                    int src = bOff + (j0 + js + j) * ldb + p0;
                    int dst = o + j;
                    for (int p = 0; p < kc; p++) bp[dst + p * nr] = b[src + p];
                }
                if (cols < nr) {
                    for (int p = 0; p < kc; p++) Arrays.fill(bp, o + p * nr + cols, o + (p + 1) * nr, 0f);
                }
            }
            o += nr * kc;
        }
    }
}
